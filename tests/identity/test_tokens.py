"""The token core keeps its promise: no forged, replayed or out-of-profile token becomes an
identity, and a refusal tells the client nothing (docs/adr/0501-jwt-profile.md)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import Unauthenticated
from hub.identity.keysets import StaticKeyResolver
from hub.identity.tokens import (
    MAX_LIFETIME_S,
    REASONS,
    TOKEN_TYP,
    AuthenticationError,
    InMemoryReplayGuard,
    VerifiedToken,
    averify_token,
    mint_token,
    verify_token,
)
from hub.vocabulary import Role

Verify = Callable[..., VerifiedToken]


def refusal(verify: Verify, raw: str, **kwargs: Any) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        verify(raw, **kwargs)
    return info.value


# --------------------------------------------------------------------------------------------
# The corpus


def test_bad_token_is_refused_with_its_reason(token_bad_case: Any, token_verify: Verify) -> None:
    for earlier in token_bad_case.replay_first:
        token_verify(earlier)
    error = refusal(token_verify, token_bad_case.token)
    assert error.reason == token_bad_case.reason


def test_corpus_covers_the_brief(token_bad_corpus: list[Any]) -> None:
    cases = token_bad_corpus
    assert len(cases) >= 25
    names = {c.name for c in cases}
    required = {
        "alg_none",
        "hs256_keyed_with_partner_public_pem",
        "rs256",
        "eddsa_header_for_es256_key",
        "unknown_kid",
        "kid_of_another_partner_valid_signature",
        "unknown_issuer",
        "expired",
        "nbf_in_future",
        "iat_in_future",
        "lifetime_too_long",
        *(f"missing_{c}" for c in ("exp", "iat", "jti", "sub", "iss", "aud", "roles")),
        "replayed_jti",
        "wrong_audience",
        "role_not_granted_to_kind",
        "empty_roles",
        "unknown_role",
        "truncated_token",
        "two_segments",
        "non_json_payload",
        "non_json_header",
        "header_not_an_object",
        "oversize_signed",
        "typ_jwt",
        "typ_missing",
        "crit_header",
        "jku_header",
        "jwk_header_embedded_attacker_key",
        "signature_bit_flipped",
        "payload_swapped_between_valid_tokens",
        "sub_with_bad_chars",
        "jti_extremely_long",
    }
    assert required <= names
    assert {c.reason for c in cases} <= REASONS


#: Codes the corpus cannot reach on purpose: defence in depth behind other checks, a library
#: fallback, and the IdP outage (tested in test_keysets.py).
UNREACHABLE_FROM_CORPUS = {"issuer_mismatch", "invalid_token", "key_source_unavailable"}


def test_every_reason_code_is_exercised(token_bad_corpus: list[Any]) -> None:
    assert {c.reason for c in token_bad_corpus} == REASONS - UNREACHABLE_FROM_CORPUS


def test_refusal_reason_never_carries_token_content(
    token_bad_case: Any, token_verify: Verify
) -> None:
    for earlier in token_bad_case.replay_first:
        token_verify(earlier)
    error = refusal(token_verify, token_bad_case.token)
    problem = json.dumps(error.to_problem())
    rendered = " ".join([str(error), repr(error), *map(str, error.args), problem])
    segments = [s for s in token_bad_case.token.split(".") if len(s) >= 8]
    assert not any(s in rendered for s in segments)
    assert error.reason not in problem  # the client's answer does not name the reason
    assert error.__cause__ is None and error.__suppress_context__


def test_good_token_is_accepted(token_good_case: Any, token_verify: Verify) -> None:
    verified = token_verify(token_good_case.token)
    assert verified.partner_id == token_good_case.partner_id
    assert verified.roles == token_good_case.roles
    assert verified.display_name == token_good_case.display_name
    assert verified.user == "user-7f3a9c"


# --------------------------------------------------------------------------------------------
# Positive paths and what the verified identity holds


@pytest.mark.parametrize("partner_attr", ["police", "ggz"])
def test_minted_token_round_trips_for_each_alg(
    partner_attr: str, token_world: Any, token_verify: Verify
) -> None:
    partner = getattr(token_world, partner_attr)
    token = mint_token(
        partner_id=partner.id,
        user="pseudo-42",
        roles=["publisher", "participant"],
        private_jwk=partner.key.private_jwk,
        audience=token_world.audience,
        ttl_s=600,
        name="Jan Jansen",
        now=token_world.now,
        jti="jti-roundtrip-0000001",
    )
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": partner.key.alg, "typ": TOKEN_TYP, "kid": partner.key.kid}
    verified = token_verify(token)
    assert verified == VerifiedToken(
        partner_id=partner.id,
        user="pseudo-42",
        roles=frozenset({Role.PUBLISHER, Role.PARTICIPANT}),
        display_name="Jan Jansen",
        jti="jti-roundtrip-0000001",
        issued_at=token_world.now,
        expires_at=token_world.now + 600,
        kid=partner.key.kid,
    )


def test_display_name_stays_out_of_repr(token_world: Any, token_verify: Verify) -> None:
    token = token_world.token(token_world.police, name="Annemarie Visser")
    verified = token_verify(token)
    assert "Annemarie" not in repr(verified)


def test_real_clock_is_used_when_now_is_omitted(token_world: Any, token_resolver: Any) -> None:
    token = mint_token(
        partner_id=token_world.police.id,
        user="u1",
        roles=["participant"],
        private_jwk=token_world.police.key.private_jwk,
        audience=token_world.audience,
    )
    verified = verify_token(
        token, audience=token_world.audience, keys=token_resolver, replay=InMemoryReplayGuard()
    )
    assert verified.expires_at - verified.issued_at == 300
    stale = token_world.token(token_world.police)  # the corpus clock is 2026-01-01
    error = refusal(
        verify_token,
        stale,
        audience=token_world.audience,
        keys=token_resolver,
        replay=InMemoryReplayGuard(),
    )
    assert error.reason in {"expired", "iat_in_future"}


def test_averify_token_runs_in_a_worker_thread(token_world: Any, token_resolver: Any) -> None:
    import threading

    loop_thread = threading.get_ident()
    seen: list[int] = []

    class RecordingGuard(InMemoryReplayGuard):
        def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
            seen.append(threading.get_ident())
            return super().claim(issuer, jti, expires_at)

    token = token_world.token(token_world.ggz)
    verified = asyncio.run(
        averify_token(
            token,
            audience=token_world.audience,
            keys=token_resolver,
            replay=RecordingGuard(clock=lambda: token_world.now),
            now=token_world.now,
        )
    )
    assert verified.partner_id == token_world.ggz.id
    assert seen and seen[0] != loop_thread


# --------------------------------------------------------------------------------------------
# Order of checks: cheap before expensive, replay store last


class SpyResolver:
    def __init__(self, inner: StaticKeyResolver) -> None:
        self.inner = inner
        self.calls = 0

    def key_for(self, partner_id: str, kid: str) -> Any:
        self.calls += 1
        return self.inner.key_for(partner_id, kid)

    def allowed_roles(self, partner_id: str) -> frozenset[str]:
        return self.inner.allowed_roles(partner_id)

    def is_known(self, partner_id: str) -> bool:
        self.calls += 1
        return self.inner.is_known(partner_id)


class CountingGuard:
    def __init__(self) -> None:
        self.claims: list[tuple[str, str, int]] = []

    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        self.claims.append((issuer, jti, expires_at))
        return True


def test_size_is_checked_before_any_parsing_or_key_lookup(
    token_world: Any, token_resolver: StaticKeyResolver
) -> None:
    spy = SpyResolver(token_resolver)
    huge = token_world.token(token_world.police, name="n" * 9000)
    error = refusal(
        verify_token, huge, audience=token_world.audience, keys=spy, replay=CountingGuard()
    )
    assert error.reason == "too_large"
    assert spy.calls == 0


def test_header_checks_precede_key_lookup(
    token_world: Any, token_resolver: StaticKeyResolver
) -> None:
    spy = SpyResolver(token_resolver)
    token = token_world.token(token_world.police, header={"alg": "HS256"})
    error = refusal(
        verify_token, token, audience=token_world.audience, keys=spy, replay=CountingGuard()
    )
    assert error.reason == "alg_not_allowed"
    assert spy.calls == 0


def test_a_refused_token_does_not_use_up_its_jti(
    token_world: Any, token_resolver: StaticKeyResolver, token_bad_case: Any
) -> None:
    if token_bad_case.reason == "replayed":
        pytest.skip("a replay is refused by the guard itself")
    guard = CountingGuard()
    with pytest.raises(AuthenticationError):
        verify_token(
            token_bad_case.token,
            audience=token_world.audience,
            keys=token_resolver,
            replay=guard,
            now=token_world.now,
        )
    assert guard.claims == []


def test_replay_entry_lives_until_the_token_cannot_pass_anymore(
    token_world: Any, token_resolver: StaticKeyResolver
) -> None:
    guard = CountingGuard()
    token = token_world.token(token_world.police, jti="jti-expiry-check-01")
    verified = verify_token(
        token,
        audience=token_world.audience,
        keys=token_resolver,
        replay=guard,
        now=token_world.now,
        leeway_s=45,
    )
    assert guard.claims == [
        (token_world.police.id, "jti-expiry-check-01", verified.expires_at + 45)
    ]


def test_same_jti_from_two_partners_is_two_tokens(token_world: Any, token_verify: Verify) -> None:
    token_verify(token_world.token(token_world.police, jti="shared-jti-00000001"))
    token_verify(token_world.token(token_world.ggz, jti="shared-jti-00000001"))
    error = refusal(token_verify, token_world.token(token_world.ggz, jti="shared-jti-00000001"))
    assert error.reason == "replayed"


def test_replay_guard_failure_propagates_and_accepts_nothing(
    token_world: Any, token_resolver: StaticKeyResolver
) -> None:
    class BrokenGuard:
        def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
            raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        verify_token(
            token_world.token(token_world.police),
            audience=token_world.audience,
            keys=token_resolver,
            replay=BrokenGuard(),
            now=token_world.now,
        )


def test_in_memory_guard_forgets_expired_entries() -> None:
    clock = [100.0]
    guard = InMemoryReplayGuard(clock=lambda: clock[0])
    assert guard.claim("p", "jti-1", 150)
    assert not guard.claim("p", "jti-1", 150)
    clock[0] = 151.0
    assert guard.claim("p", "jti-1", 300)


# --------------------------------------------------------------------------------------------
# Tightening only


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_lifetime_s": MAX_LIFETIME_S + 1},
        {"max_lifetime_s": 0},
        {"leeway_s": 61},
        {"leeway_s": -1},
        {"max_size": 8193},
        {"max_size": 10},
    ],
)
def test_parameters_can_only_tighten_the_profile(
    overrides: dict[str, int], token_world: Any, token_verify: Verify
) -> None:
    with pytest.raises(ValueError):
        token_verify(token_world.token(token_world.police), **overrides)


def test_tighter_lifetime_and_skew_are_honoured(token_world: Any, token_verify: Verify) -> None:
    w = token_world
    long_lived = w.token(w.police, iat=w.now - 10, exp=w.now + 500)
    assert refusal(token_verify, long_lived, max_lifetime_s=300).reason == "lifetime_too_long"
    early = w.token(w.police, iat=w.now + 20, exp=w.now + 300)
    assert refusal(token_verify, early, leeway_s=10).reason == "iat_in_future"
    big = w.token(w.police, name="n" * 100)
    assert refusal(token_verify, big, max_size=400).reason == "too_large"


def test_other_expected_typ_refuses_hub_tokens(token_world: Any, token_verify: Verify) -> None:
    token = token_world.token(token_world.police)
    assert refusal(token_verify, token, expected_typ="vhhub-admin+jwt").reason == "typ_mismatch"


# --------------------------------------------------------------------------------------------
# Errors


def test_authentication_error_is_a_generic_401() -> None:
    error = AuthenticationError("bad_signature")
    assert isinstance(error, Unauthenticated)
    assert error.status == 401
    problem = error.to_problem()
    assert problem["detail"] == Unauthenticated.default_detail
    assert "bad_signature" not in json.dumps(problem)


def test_reason_must_be_registered() -> None:
    with pytest.raises(ValueError):
        AuthenticationError("kid eyJhbGciOi... is unknown")


def test_non_string_input_is_malformed(token_verify: Verify) -> None:
    assert refusal(token_verify, b"abc.def.ghi").reason == "malformed"  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Minting


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ttl_s": 901}, "ttl_s"),
        ({"ttl_s": 0}, "ttl_s"),
        ({"roles": []}, "roles"),
        ({"roles": ["participant", "participant"]}, "roles"),
        ({"roles": ["root"]}, "roles"),
        ({"roles": "participant"}, "roles"),
        ({"user": "jan@example.nl"}, "user"),
        ({"partner_id": "politie nhn"}, "partner_id"),
        ({"jti": "short"}, "jti"),
        ({"name": "x" * 129}, "name"),
    ],
)
def test_mint_refuses_tokens_the_hub_would_refuse(
    overrides: dict[str, Any], message: str, token_world: Any
) -> None:
    kwargs: dict[str, Any] = {
        "partner_id": token_world.police.id,
        "user": "u1",
        "roles": ["participant"],
        "private_jwk": token_world.police.key.private_jwk,
        "audience": token_world.audience,
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        mint_token(**kwargs)


def test_mint_refuses_a_public_key(token_world: Any) -> None:
    with pytest.raises(ValueError, match="private"):
        mint_token(
            partner_id=token_world.police.id,
            user="u1",
            roles=["participant"],
            private_jwk=token_world.police.key.public_jwk,
            audience=token_world.audience,
        )


def test_minted_jtis_are_unique(token_world: Any) -> None:
    jtis = set()
    for _ in range(50):
        token = mint_token(
            partner_id=token_world.ggz.id,
            user="u1",
            roles=["participant"],
            private_jwk=token_world.ggz.key.private_jwk,
            audience=token_world.audience,
        )
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        jtis.add(payload["jti"])
    assert len(jtis) == 50


# --------------------------------------------------------------------------------------------
# Properties: garbage and mutations never get through, and never raise anything else


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(max_size=400) | st.text(alphabet="abcXYZ019-_.=", max_size=400))
def test_garbage_is_refused_with_a_registered_reason(raw: str, token_verify: Verify) -> None:
    with pytest.raises(AuthenticationError) as info:
        token_verify(raw)
    assert info.value.reason in REASONS


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_character_change_is_refused(
    data: st.DataObject, token_world: Any, token_resolver: StaticKeyResolver
) -> None:
    partner = data.draw(st.sampled_from([token_world.police, token_world.ggz]))
    token = token_world.token(partner)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    mutated = token[:position] + replacement + token[position + 1 :]
    guard = InMemoryReplayGuard(clock=lambda: token_world.now)
    verify_kwargs: dict[str, Any] = {
        "audience": token_world.audience,
        "keys": token_resolver,
        "replay": guard,
        "now": token_world.now,
    }
    if mutated == token:
        return
    try:
        verify_token(mutated, **verify_kwargs)
    except AuthenticationError as error:
        assert error.reason in REASONS
    else:
        # Only a change the signature does not cover may pass: the unused low bits of the
        # last base64 character of the signature are refused as non-canonical, so nothing.
        pytest.fail(f"mutation at {position} accepted")
