"""Authentication as a use case: verify the token, check the purpose, log every refusal.

Every failure answers the same generic 401 (no oracle) while the access log gets the precise
reason code; an unknown or missing purpose answers 400 and is logged with the actor.
"""

from __future__ import annotations

from typing import Any

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, AccessLog, Actor, Event, RequestInfo
from hub.db.session import Database
from hub.errors import InvalidPurpose, Unauthenticated
from hub.identity.keysets import JwksUrlKeySource, KeySetResolver, PartnerKeys, StaticKeySource
from hub.identity.partner_keys import load_partner_jwks
from hub.identity.registry import NetworkRegistry
from hub.identity.replay import DatabaseReplayGuard
from hub.identity.tokens import AuthenticationError, ReplayGuard, verify_token
from hub.identity.viewer import Viewer
from hub.settings import Settings
from hub.vocabulary import PartnerKind, Purpose, Role


def build_key_resolver(settings: Settings, registry: NetworkRegistry) -> KeySetResolver:
    """One key source per registered partner; a bad key file fails start-up, not a request."""
    partners: dict[str, PartnerKeys] = {}
    for partner in registry.partners.values():
        roles = frozenset(r.value for r in registry.allowed_roles(partner.id))
        jwks = load_partner_jwks(settings, partner)
        source: Any
        if jwks is None:
            assert partner.jwks_location is not None
            source = JwksUrlKeySource(partner.jwks_location, alg=partner.alg)
        else:
            source = StaticKeySource(jwks, alg=partner.alg)
        partners[partner.id] = PartnerKeys(source=source, allowed_roles=roles)
    return KeySetResolver(partners)


class Authenticator:
    def __init__(
        self,
        *,
        db: Database,
        log: AccessLog,
        registry: NetworkRegistry,
        keys: KeySetResolver,
        audience: str,
        replay: ReplayGuard | None = None,
    ) -> None:
        self._db = db
        self._log = log
        self._registry = registry
        self._keys = keys
        self._audience = audience
        self._replay = replay or DatabaseReplayGuard(db)

    def authenticate(
        self, authorization: str | None, purpose_header: str | None, request: RequestInfo
    ) -> Viewer:
        """Return the viewer, or log the refusal and raise (401 or 400)."""
        purpose = _parse_purpose(purpose_header)
        request = RequestInfo(request.request_id, request.source, purpose)
        raw = _bearer(authorization)
        if raw is None:
            self._refuse(Action.AUTH_FAILURE, "token:missing_bearer", request)
            raise Unauthenticated()
        try:
            token = verify_token(raw, audience=self._audience, keys=self._keys, replay=self._replay)
        except AuthenticationError as exc:
            self._refuse(Action.AUTH_FAILURE, f"token:{exc.reason}", request)
            raise Unauthenticated() from None
        partner = self._registry.partners[token.partner_id]
        actor = Actor(
            partner=token.partner_id,
            partner_kind=PartnerKind(partner.kind),
            user=token.user,
            roles=tuple(sorted(Role(r) for r in token.roles)),
        )
        if purpose is None:
            reason = "purpose:missing" if not purpose_header else "purpose:unknown"
            self._refuse(Action.REQUEST_REJECTED, reason, request, actor=actor)
            raise InvalidPurpose(
                "State the purpose in the Purpose header, one of: "
                + ", ".join(p.value for p in Purpose)
                + "."
            )
        return Viewer(
            partner=token.partner_id,
            partner_kind=PartnerKind(partner.kind),
            user=token.user,
            roles=frozenset(actor.roles),
            purpose=purpose,
            request=request,
            display_name=token.display_name,
        )

    def _refuse(
        self, action: Action, reason: str, request: RequestInfo, *, actor: Actor = ANONYMOUS
    ) -> None:
        with self._db.transaction() as session:
            self._log.append(
                session,
                Event(action=action, outcome=Outcome.DENIED, reason=reason),
                actor=actor,
                request=request,
            )


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _parse_purpose(value: str | None) -> Purpose | None:
    if not value:
        return None
    try:
        return Purpose(value.strip())
    except ValueError:
        return None
