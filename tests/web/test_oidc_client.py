"""The OpenID Connect client (hub.web.oidc) against a real OpenID provider on loopback
(tests/oidc_provider.py: pyop over HTTP). No mocks: every login goes through the OP's
authorization endpoint, its login form, its token endpoint and its key set."""

from __future__ import annotations

import base64
import html
import json
import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import OctKey

from hub.identity.registry import NetworkRegistry, OidcSpec, parse_registry
from hub.vocabulary import Role
from hub.web.oidc import IdpIdentity, OidcClients, OidcError, PendingLogin

try:
    from tests.oidc_provider import LoopbackOP
except ModuleNotFoundError:  # pytest's default "prepend" import mode
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.oidc_provider import LoopbackOP

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://127.0.0.1:8999/auth/callback"
SECRET_ENV = "VHHUB_OIDC_SECRET_ZVH"
HOUSING_SECRET_ENV = "VHHUB_OIDC_SECRET_WONEN"
USERS: dict[str, dict[str, object]] = {
    "anna": {"name": "Anna de Vries", "roles": ["zvh-regie", "medewerker", "auditor-x"]},
    "bert": {"name": "Bert Jansen", "roles": "medewerker"},  # a space-separated string
    "carla": {"name": "Carla Smit", "roles": ["stagiair"]},  # nothing that maps
    "wim": {"name": "Wim Wonen", "roles": ["woon-medewerker", "woon-audit"]},
}


def network(op: LoopbackOP, *, housing: LoopbackOP | None = None) -> NetworkRegistry:
    """The demo network, with the ZVH staff (and optionally the housing corporation) logging
    in at loopback OPs."""
    raw: dict[str, Any] = tomllib.loads((ROOT / "network" / "demo.toml").read_text("utf-8"))
    for partner in raw["partners"]:
        if partner["id"] == "zvh":
            partner["oidc"] = {
                "issuer": op.issuer,
                "client_id": op.client_id,
                "client_secret_env": SECRET_ENV,
                "role_map": {"zvh-regie": "procesregisseur", "medewerker": "participant"},
            }
        if partner["id"] == "woningcorporatie" and housing is not None:
            partner["oidc"] = {
                "issuer": housing.issuer,
                "client_id": housing.client_id,
                "client_secret_env": HOUSING_SECRET_ENV,
                "role_map": {"woon-medewerker": "participant"},
            }
    return parse_registry(raw)


@pytest.fixture(scope="module")
def op() -> Iterator[LoopbackOP]:
    with LoopbackOP(users=USERS, redirect_uris=[CALLBACK]) as provider:
        yield provider


@pytest.fixture(scope="module")
def rogue_op() -> Iterator[LoopbackOP]:
    """An attacker's OP: the same client id, the same users, its own key."""
    with LoopbackOP(users=USERS, redirect_uris=[CALLBACK]) as provider:
        yield provider


@pytest.fixture
def clients(op: LoopbackOP) -> Iterator[OidcClients]:
    op.token_response_hook = None
    oidc = OidcClients(network(op), secrets={SECRET_ENV: op.client_secret}, timeout_s=5.0)
    yield oidc
    oidc.close()


def authenticate(authorization_url: str, user: str) -> dict[str, str]:
    """Be the person in the browser: open the IdP's page, type the user name, press
    Inloggen; return the query of the redirect back to the hub."""
    with httpx.Client(timeout=5.0) as browser:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        assert '<label for="username">' in page.text and "Inloggen" in page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        hidden = re.search(r'name="request" value="([^"]*)"', page.text)
        assert action and hidden
        answer = browser.post(
            httpx.URL(authorization_url).join(action.group(1)),
            data={"request": html.unescape(hidden.group(1)), "username": user},
        )
        assert answer.status_code == 302, answer.text
        location = httpx.URL(answer.headers["location"])
        assert str(location.copy_with(query=None)) == CALLBACK
        return dict(location.params)


def login(
    clients: OidcClients, user: str, partner: str = "zvh"
) -> tuple[PendingLogin, dict[str, str]]:
    url, pending = clients.start(partner, CALLBACK)
    return pending, authenticate(url, user)


def reason(exc: pytest.ExceptionInfo[OidcError]) -> str:
    return exc.value.reason


# -- the flow ------------------------------------------------------------------------------


def test_authorization_url_asks_for_code_with_s256_state_nonce_and_scopes(
    clients: OidcClients, op: LoopbackOP
) -> None:
    url, pending = clients.start("zvh", CALLBACK)
    query = dict(httpx.URL(url).params)
    assert url.startswith(op.issuer + "/authorization?")
    assert query["response_type"] == "code"
    assert query["client_id"] == "vhhub"
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"].split() == ["openid", "profile"]
    assert query["state"] == pending.state and len(pending.state) >= 32
    assert query["nonce"] == pending.nonce and len(pending.nonce) >= 32
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == create_s256_code_challenge(pending.code_verifier)
    assert 43 <= len(pending.code_verifier) <= 128
    assert "code_verifier" not in url
    assert pending.partner == "zvh" and pending.redirect_uri == CALLBACK
    assert abs(pending.created_at - time.time()) < 5
    _, other = clients.start("zvh", CALLBACK)
    assert {other.state, other.nonce, other.code_verifier}.isdisjoint(
        {pending.state, pending.nonce, pending.code_verifier}
    )


def test_whole_code_flow_over_http_yields_the_mapped_identity(clients: OidcClients) -> None:
    pending, params = login(clients, "anna")
    assert set(params) == {"code", "state"}
    identity = clients.finish(pending, params)
    assert identity == IdpIdentity(
        partner="zvh",
        user="anna",
        display_name="Anna de Vries",
        roles=frozenset({Role.PROCESREGISSEUR, Role.PARTICIPANT}),
        refused_roles=("auditor-x",),
    )


def test_roles_as_a_space_separated_string(clients: OidcClients) -> None:
    pending, params = login(clients, "bert")
    identity = clients.finish(pending, params)
    assert identity.roles == {Role.PARTICIPANT} and identity.refused_roles == ()


def test_an_identity_without_any_role_is_refused(clients: OidcClients) -> None:
    pending, params = login(clients, "carla")
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, params)
    assert reason(exc) == "no_role"


def test_a_role_outside_the_partner_kind_is_refused(op: LoopbackOP) -> None:
    """A housing corporation cannot be granted auditor, whatever its IdP or role map says:
    the network file refuses such a map, and the client intersects with the kind's roles
    even when handed one (a registry built in code)."""
    with LoopbackOP(users=USERS, redirect_uris=[CALLBACK]) as housing_op:
        registry = network(op, housing=housing_op)
        housing = registry.partners["woningcorporatie"]
        assert housing.oidc is not None
        assert Role.AUDITOR not in registry.allowed_roles("woningcorporatie")
        sneaky = replace(
            housing,
            oidc=replace(
                housing.oidc,
                role_map=(("woon-medewerker", Role.PARTICIPANT), ("woon-audit", Role.AUDITOR)),
            ),
        )
        registry.partners["woningcorporatie"] = sneaky
        with OidcClients(registry, secrets={HOUSING_SECRET_ENV: housing_op.client_secret}) as oidc:
            pending, params = login(oidc, "wim", partner="woningcorporatie")
            identity = oidc.finish(pending, params)
    assert identity.partner == "woningcorporatie"
    assert identity.roles == {Role.PARTICIPANT}
    assert identity.refused_roles == ("woon-audit",)


def test_client_secret_post_when_the_idp_offers_only_that(op: LoopbackOP) -> None:
    with LoopbackOP(
        users=USERS, redirect_uris=[CALLBACK], token_endpoint_auth_method="client_secret_post"
    ) as post_op:
        oidc = OidcClients(network(post_op), secrets={SECRET_ENV: post_op.client_secret})
        pending, params = login(oidc, "bert")
        assert oidc.finish(pending, params).user == "bert"
        oidc.close()


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_other_asymmetric_signing_algorithms(alg: str) -> None:
    with (
        LoopbackOP(users=USERS, redirect_uris=[CALLBACK], signing_alg=alg) as alg_op,
        OidcClients(network(alg_op), secrets={SECRET_ENV: alg_op.client_secret}) as oidc,
    ):
        pending, params = login(oidc, "anna")
        assert oidc.finish(pending, params).user == "anna"


def test_discovery_and_keys_are_cached_and_keys_refetched_once_after_rotation(
    op: LoopbackOP,
) -> None:
    oidc = OidcClients(network(op), secrets={SECRET_ENV: op.client_secret})
    before = dict(op.hits)
    for _ in range(2):
        pending, params = login(oidc, "bert")
        oidc.finish(pending, params)
    assert (
        op.hits["/.well-known/openid-configuration"]
        - before.get("/.well-known/openid-configuration", 0)
        == 1
    )
    assert op.hits["/jwks"] - before.get("/jwks", 0) == 1
    op.rotate_key()
    pending, params = login(oidc, "bert")
    assert oidc.finish(pending, params).user == "bert"
    assert op.hits["/jwks"] - before.get("/jwks", 0) == 2
    oidc.close()


def test_the_login_form_shows_an_unknown_user_name_again(clients: OidcClients) -> None:
    url, _ = clients.start("zvh", CALLBACK)
    with httpx.Client(timeout=5.0) as browser:
        page = browser.get(url)
        hidden = re.search(r'name="request" value="([^"]*)"', page.text)
        assert hidden
        again = browser.post(
            httpx.URL(url).join("/authorization"),
            data={"request": html.unescape(hidden.group(1)), "username": "mallory"},
        )
    assert again.status_code == 200
    assert "Onbekende gebruikersnaam" in again.text
    assert 'name="username"' in again.text


# -- attackers -----------------------------------------------------------------------------


def test_a_changed_state_is_refused_before_the_idp_is_asked(
    clients: OidcClients, op: LoopbackOP
) -> None:
    pending, params = login(clients, "anna")
    tokens_before = op.hits["/token"]
    real = params["state"]
    changed = real[:-1] + ("x" if real[-1] != "x" else "y")
    for state in (changed, "", None):
        forged = {**params, "state": state} if state is not None else {"code": params["code"]}
        with pytest.raises(OidcError) as exc:
            clients.finish(pending, forged)  # type: ignore[arg-type]
        assert reason(exc) == "state_mismatch"
    assert op.hits["/token"] == tokens_before
    assert clients.finish(pending, params).user == "anna"  # the code was never spent


def test_a_replayed_callback_is_refused(clients: OidcClients) -> None:
    pending, params = login(clients, "anna")
    clients.finish(pending, params)
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, params)
    assert reason(exc) == "token:invalid_grant"
    assert params["code"] not in str(exc.value)


def test_a_code_from_another_op_is_refused(clients: OidcClients, rogue_op: LoopbackOP) -> None:
    """Code injection: the attacker logs in at its own OP (same client id) and puts that
    code in the victim's callback; the configured OP does not know it."""
    pending, _ = login(clients, "anna")
    rogue = OidcClients(network(rogue_op), secrets={SECRET_ENV: rogue_op.client_secret})
    _, rogue_params = login(rogue, "anna")
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, {"code": rogue_params["code"], "state": pending.state})
    assert reason(exc) == "token:invalid_grant"
    rogue.close()


def test_an_id_token_signed_by_another_op_is_refused(
    clients: OidcClients, op: LoopbackOP, rogue_op: LoopbackOP
) -> None:
    """The ID token comes from the configured OP's token endpoint, yet was signed by the
    rogue OP (same client id, the right issuer, nonce and audience): its key is not in the
    issuer's key set, whether it names its own kid or the issuer's."""
    for kid, expected in ((None, "id_token:unknown_key"), (op.kid, "id_token:bad_signature")):
        pending, params = login(clients, "anna")
        forged = rogue_op.mint_id_token(
            op.id_token_claims("anna", nonce=pending.nonce, roles=["zvh-regie"]), kid=kid
        )
        op.token_response_hook = lambda doc, forged=forged: {**doc, "id_token": forged}
        with pytest.raises(OidcError) as exc:
            clients.finish(pending, params)
        assert reason(exc) == expected


def test_an_id_token_of_another_issuer_is_refused(
    clients: OidcClients, op: LoopbackOP, rogue_op: LoopbackOP
) -> None:
    pending, params = login(clients, "anna")
    claims = op.id_token_claims("anna", nonce=pending.nonce, iss=rogue_op.issuer)
    op.token_response_hook = lambda doc: {**doc, "id_token": op.mint_id_token(claims)}
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, params)
    assert reason(exc) == "id_token:bad_iss"


def test_a_callback_naming_another_issuer_is_refused(
    clients: OidcClients, rogue_op: LoopbackOP
) -> None:
    """RFC 9207 mix-up defence: an `iss` in the callback must be the configured issuer."""
    pending, params = login(clients, "anna")
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, {**params, "iss": rogue_op.issuer})
    assert reason(exc) == "iss_mismatch"


def test_the_nonce_of_another_login_is_refused(clients: OidcClients) -> None:
    first, first_params = login(clients, "anna")
    _, second = clients.start("zvh", CALLBACK)
    # the ID token carries the first login's nonce; the session expects the second's
    with pytest.raises(OidcError) as exc:
        clients.finish(replace(first, nonce=second.nonce), first_params)
    assert reason(exc) == "id_token:bad_nonce"
    # and swapping the first login's code into the second login: PKCE stops it at the OP
    _, third_params = login(clients, "anna")
    with pytest.raises(OidcError) as exc:
        clients.finish(second, {"code": third_params["code"], "state": second.state})
    assert reason(exc) == "token:invalid_request"


def test_a_stale_pending_login_is_refused(clients: OidcClients) -> None:
    pending, params = login(clients, "anna")
    with pytest.raises(OidcError) as exc:
        clients.finish(replace(pending, created_at=pending.created_at - 601), params)
    assert reason(exc) == "login_expired"
    with pytest.raises(OidcError) as exc:
        clients.finish(replace(pending, created_at=pending.created_at + 3600), params)
    assert reason(exc) == "login_expired"


def test_a_wrong_code_verifier_is_refused_by_the_op(clients: OidcClients, op: LoopbackOP) -> None:
    pending, params = login(clients, "anna")
    wrong = replace(pending, code_verifier=pending.code_verifier[::-1])
    with pytest.raises(OidcError) as exc:
        clients.finish(wrong, params)
    assert reason(exc) == "token:invalid_request"
    # the OP itself says so, over HTTP, and also without any verifier
    for extra in ({"code_verifier": "x" * 43}, {}):
        answer = httpx.post(
            op.issuer + "/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": CALLBACK,
                **extra,
            },
            auth=(op.client_id, op.client_secret),
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_the_op_refuses_an_authorization_request_without_s256(
    clients: OidcClients, op: LoopbackOP
) -> None:
    url, pending = clients.start("zvh", CALLBACK)
    plain = httpx.URL(url).copy_merge_params(
        {"code_challenge": pending.code_verifier, "code_challenge_method": "plain"}
    )
    without = (
        httpx.URL(url)
        .copy_remove_param("code_challenge")
        .copy_remove_param("code_challenge_method")
    )
    for bad in (plain, without):
        answer = httpx.get(bad)
        assert answer.status_code == 302
        location = httpx.URL(answer.headers["location"])
        assert location.params["error"] == "invalid_request"
        assert location.params["state"] == pending.state


def test_idp_down_is_idp_unavailable() -> None:
    down = LoopbackOP(users=USERS, redirect_uris=[CALLBACK])
    with down:
        oidc = OidcClients(network(down), secrets={SECRET_ENV: down.client_secret}, timeout_s=2)
        pending, params = login(oidc, "anna")
    # the OP has stopped: the token exchange cannot happen
    with pytest.raises(OidcError) as exc:
        oidc.finish(pending, params)
    assert reason(exc) == "idp_unavailable"
    # nor can a new login start (no discovery document in a fresh client)
    fresh = OidcClients(network(down), secrets={SECRET_ENV: down.client_secret}, timeout_s=2)
    with pytest.raises(OidcError) as exc:
        fresh.start("zvh", CALLBACK)
    assert reason(exc) == "idp_unavailable"
    oidc.close()
    fresh.close()


def test_a_missing_client_secret_is_refused_before_the_idp_is_asked(op: LoopbackOP) -> None:
    oidc = OidcClients(network(op), secrets={})
    pending, params = login(oidc, "anna")
    tokens_before = op.hits["/token"]
    with pytest.raises(OidcError) as exc:
        oidc.finish(pending, params)
    assert reason(exc) == "client_secret_missing"
    assert op.hits["/token"] == tokens_before
    oidc.close()


def test_a_wrong_client_secret_is_refused_by_the_op(op: LoopbackOP) -> None:
    oidc = OidcClients(network(op), secrets={SECRET_ENV: "not-the-secret"})
    pending, params = login(oidc, "anna")
    with pytest.raises(OidcError) as exc:
        oidc.finish(pending, params)
    assert reason(exc) == "token:invalid_client"
    assert "not-the-secret" not in str(exc.value)
    oidc.close()


def test_an_error_from_the_idp_is_refused(clients: OidcClients) -> None:
    _, pending = clients.start("zvh", CALLBACK)
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, {"error": "access_denied", "state": pending.state})
    assert reason(exc) == "idp_error:access_denied"
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, {"error": "<script>", "state": pending.state})
    assert reason(exc) == "idp_error"
    with pytest.raises(OidcError) as exc:  # not the answer to this login
        clients.finish(pending, {"error": "access_denied", "state": "forged"})
    assert reason(exc) == "state_mismatch"


def _unsigned(claims: dict[str, Any]) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none'})}.{b64(claims)}."


def _hs256(claims: dict[str, Any], kid: str) -> str:
    """Signed with a shared secret, naming the issuer's key: RFC 8725 3.1 says no."""
    return jwt.encode(
        {"alg": "HS256", "kid": kid}, claims, OctKey.generate_key(256), algorithms=["HS256"]
    )


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        (lambda op, c: _unsigned(c), "id_token:bad_alg"),
        (lambda op, c: _hs256(c, op.kid), "id_token:bad_alg"),
        (lambda op, c: op.mint_id_token({**c, "aud": "someone-else"}), "id_token:bad_aud"),
        (lambda op, c: op.mint_id_token({**c, "exp": int(time.time()) - 3600}), "id_token:expired"),
        (lambda op, c: op.mint_id_token({**c, "iat": int(time.time()) + 3600}), "id_token:bad_iat"),
        (
            lambda op, c: op.mint_id_token({k: v for k, v in c.items() if k != "nonce"}),
            "id_token:missing_claim",
        ),
        # several audiences: azp must name this client
        (
            lambda op, c: op.mint_id_token({**c, "aud": ["vhhub", "other"]}),
            "id_token:missing_claim",
        ),
        (
            lambda op, c: op.mint_id_token({**c, "aud": ["vhhub", "other"], "azp": "other"}),
            "id_token:bad_azp",
        ),
        (lambda op, c: op.mint_id_token({**c, "sub": "x" * 129}), "claim:user"),
        (lambda op, c: "not-a-jwt", "id_token:malformed"),
    ],
    ids=[
        "alg-none",
        "hs256",
        "audience",
        "expired",
        "future-iat",
        "no-nonce",
        "aud-list-no-azp",
        "aud-list-wrong-azp",
        "long-user",
        "malformed",
    ],
)
def test_a_bad_id_token_is_refused(
    clients: OidcClients, op: LoopbackOP, forge: Any, expected: str
) -> None:
    pending, params = login(clients, "anna")
    forged = forge(op, op.id_token_claims("anna", nonce=pending.nonce))
    op.token_response_hook = lambda doc: {**doc, "id_token": forged}
    with pytest.raises(OidcError) as exc:
        clients.finish(pending, params)
    assert reason(exc) == expected


def test_several_audiences_with_the_right_azp_are_accepted(
    clients: OidcClients, op: LoopbackOP
) -> None:
    pending, params = login(clients, "anna")
    claims = op.id_token_claims("anna", nonce=pending.nonce, aud=["vhhub", "other"], azp="vhhub")
    op.token_response_hook = lambda doc: {**doc, "id_token": op.mint_id_token(claims)}
    assert clients.finish(pending, params).user == "anna"


def test_unknown_partner(clients: OidcClients) -> None:
    for partner in ("politie", "nobody"):  # politie has no IdP in the demo network
        with pytest.raises(OidcError) as exc:
            clients.start(partner, CALLBACK)
        assert reason(exc) == "unknown_partner"
    assert [p.id for p in clients.partners()] == ["zvh"]


def test_oidc_spec_is_what_the_client_reads(op: LoopbackOP) -> None:
    spec = network(op).partners["zvh"].oidc
    assert isinstance(spec, OidcSpec)
    assert spec.role_for("zvh-regie") is Role.PROCESREGISSEUR and spec.role_for("x") is None
