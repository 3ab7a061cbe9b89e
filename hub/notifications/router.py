"""HTTP routes of the notifications: subscriptions, and the key that signs every notification."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from hub.context import HubContext, get_context
from hub.identity.dependencies import CurrentViewer
from hub.notifications.schemas import SubscriptionIn, SubscriptionList, SubscriptionOut
from hub.notifications.service import SubscriptionService
from hub.notifications.wire import public_jwks
from hub.openapi import problems

router = APIRouter(tags=["notifications"])

#: the public path of the notification key set (no token needed: partners fetch it to verify)
KEYS_PATH = "/notifications/keys"


def subscription_service(ctx: Annotated[HubContext, Depends(get_context)]) -> SubscriptionService:
    return ctx.subscriptions


Subscriptions = Annotated[SubscriptionService, Depends(subscription_service)]
SubscriptionId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post(
    "/subscriptions",
    response_model=SubscriptionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe your application to notifications",
    description=(
        "The hub will POST a signed CloudEvent (NL GOV profile, no content) to `callback_url` "
        "on each change of the chosen types in the cases your organisation takes part in "
        "(or only in `case_ids`). The callback must be in your organisation's allow-list in "
        "the network file. Whether to tell you is decided again at every delivery: a case you "
        "no longer take part in, or facts the policy does not release to you, send nothing. "
        "The policy's `manage_subscriptions` decides who may subscribe. A case in `case_ids` "
        "that you may not read gets the same 400 as an unknown id. Logged in the access log."
    ),
    responses=problems(400, 403),
)
def create_subscription(
    body: SubscriptionIn, viewer: CurrentViewer, subscriptions: Subscriptions
) -> SubscriptionOut:
    return subscriptions.create(viewer, body)


@router.get(
    "/subscriptions",
    response_model=SubscriptionList,
    summary="Your subscriptions",
    description=(
        "The live subscriptions you created (a subscription is its creator's), with the last "
        "`sequence` each has given out: compare it with the last one you received to find a "
        "gap, then pull `/cases/{id}/updates` to resync. `case_ids` shows only the named "
        "cases you may read now. Logged in the access log."
    ),
    responses=problems(403),
)
def list_subscriptions(viewer: CurrentViewer, subscriptions: Subscriptions) -> SubscriptionList:
    return subscriptions.list_for(viewer)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a subscription you created",
    description=(
        "Nothing more is sent for it, retries included. Someone else's subscription, an ended "
        "one and an unknown id get the same 404. Logged in the access log."
    ),
    responses=problems(403, 404),
)
def end_subscription(
    subscription_id: SubscriptionId, viewer: CurrentViewer, subscriptions: Subscriptions
) -> Response:
    subscriptions.end(viewer, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    KEYS_PATH,
    summary="The key set that verifies the hub's notification signatures (JWKS)",
    description=(
        "Ed25519 keys (RFC 8037) as a JWK Set. Each notification carries an HTTP Message "
        "Signature (RFC 9421) whose `keyid` is a key's `kid` (its RFC 7638 thumbprint). "
        "Public: no token needed."
    ),
    responses={
        200: {
            "description": "The JWK Set.",
            "content": {
                "application/jwk-set+json": {
                    "schema": {
                        "type": "object",
                        "required": ["keys"],
                        "properties": {
                            "keys": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["kty", "crv", "x", "kid"],
                                    "properties": {
                                        "kty": {"type": "string", "const": "OKP"},
                                        "crv": {"type": "string", "const": "Ed25519"},
                                        "x": {"type": "string"},
                                        "kid": {"type": "string"},
                                        "alg": {"type": "string"},
                                        "use": {"type": "string"},
                                    },
                                },
                            }
                        },
                    },
                    "example": {
                        "keys": [
                            {
                                "kty": "OKP",
                                "crv": "Ed25519",
                                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                                "kid": "guHbjjCslHtWPso76srp07IWKdCNBKMPnkT4tleifuo",
                                "alg": "EdDSA",
                                "use": "sig",
                            }
                        ]
                    },
                }
            },
        }
    },
)
def notification_keys(ctx: Annotated[HubContext, Depends(get_context)]) -> Response:
    body: dict[str, Any] = public_jwks(ctx.notification_signer().public_key())
    return Response(
        content=json.dumps(body),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
