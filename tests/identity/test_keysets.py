"""Keys come only from the registry, each bound to one partner and one algorithm; a partner's
IdP is asked for keys rarely, whatever an attacker sends (docs/adr/0501-jwt-profile.md)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest

from hub.identity.keysets import (
    InvalidKeyMaterial,
    JwksUrlKeySource,
    KeySetResolver,
    KeySourceUnavailable,
    PartnerKeys,
    StaticKeyResolver,
    StaticKeySource,
    UnknownKey,
    load_signing_key,
    load_verification_key,
)
from hub.identity.tokens import AuthenticationError, InMemoryReplayGuard, verify_token
from hub.vocabulary import Role

# --------------------------------------------------------------------------------------------
# Loading keys


def test_the_key_type_decides_the_algorithm(token_world: Any) -> None:
    assert load_verification_key(token_world.police.key.public_jwk).algorithm_name == "ES256"
    assert load_verification_key(token_world.ggz.key.public_jwk).algorithm_name == "EdDSA"
    without_alg = {k: v for k, v in token_world.police.key.public_jwk.items() if k != "alg"}
    assert load_verification_key(without_alg).algorithm_name == "ES256"


def _bad_jwks(world: Any) -> dict[str, dict[str, Any]]:
    ec_pub = world.police.key.public_jwk
    ed_pub = world.ggz.key.public_jwk
    return {
        "private_ec_key": world.police.key.private_jwk,
        "private_okp_key": world.ggz.key.private_jwk,
        "symmetric_oct": {"kty": "oct", "kid": "hs", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
        "rsa": {"kty": "RSA", "kid": "rsa", "n": "sXch", "e": "AQAB"},
        "p384_curve": {**ec_pub, "crv": "P-384"},
        "secp256k1_curve": {**ec_pub, "crv": "secp256k1"},
        "ed448_curve": {**ed_pub, "crv": "Ed448"},
        "alg_eddsa_on_ec": {**ec_pub, "alg": "EdDSA"},
        "alg_hs256_on_ec": {**ec_pub, "alg": "HS256"},
        "alg_none_on_okp": {**ed_pub, "alg": "none"},
        "use_enc": {**ec_pub, "use": "enc"},
        "key_ops_encrypt": {**ec_pub, "key_ops": ["encrypt"]},
        "missing_kid": {k: v for k, v in ec_pub.items() if k != "kid"},
        "kid_with_newline": {**ec_pub, "kid": "k1\nINFO forged log line"},
        "point_not_on_curve": {**ec_pub, "y": ec_pub["x"]},
        "missing_kty": {k: v for k, v in ec_pub.items() if k != "kty"},
    }


BAD_JWK_NAMES = (
    "private_ec_key",
    "private_okp_key",
    "symmetric_oct",
    "rsa",
    "p384_curve",
    "secp256k1_curve",
    "ed448_curve",
    "alg_eddsa_on_ec",
    "alg_hs256_on_ec",
    "alg_none_on_okp",
    "use_enc",
    "key_ops_encrypt",
    "missing_kid",
    "kid_with_newline",
    "point_not_on_curve",
    "missing_kty",
)


def test_bad_jwk_names_cover_the_table(token_world: Any) -> None:
    assert set(_bad_jwks(token_world)) == set(BAD_JWK_NAMES)


@pytest.mark.parametrize("name", BAD_JWK_NAMES)
def test_jwk_that_could_enable_confusion_is_refused(name: str, token_world: Any) -> None:
    jwk = _bad_jwks(token_world)[name]
    with pytest.raises(InvalidKeyMaterial):
        load_verification_key(jwk)
    with pytest.raises(InvalidKeyMaterial):
        StaticKeyResolver({"p": ({"keys": [jwk]}, ["participant"])})


def test_refusal_messages_carry_no_key_material(token_world: Any) -> None:
    private = token_world.police.key.private_jwk
    with pytest.raises(InvalidKeyMaterial) as info:
        load_verification_key(private)
    assert private["d"] not in str(info.value) and private["x"] not in str(info.value)


def test_pinned_algorithm_refuses_another_key_type(token_world: Any) -> None:
    with pytest.raises(InvalidKeyMaterial):
        StaticKeySource({"keys": [token_world.ggz.key.public_jwk]}, alg="ES256")
    assert StaticKeySource({"keys": [token_world.ggz.key.public_jwk]}, alg="EdDSA").cached_kids()


@pytest.mark.parametrize("jwks", [{"keys": []}, {"keys": "x"}, {}, {"keys": [None]}])
def test_malformed_or_empty_jwks_is_refused(jwks: dict[str, Any]) -> None:
    with pytest.raises(InvalidKeyMaterial):
        StaticKeySource(jwks)


def test_duplicate_kid_in_a_partner_jwks_is_refused(token_world: Any) -> None:
    key = token_world.police.key.public_jwk
    other = {**token_world.staff.key.public_jwk, "kid": key["kid"]}
    with pytest.raises(InvalidKeyMaterial):
        StaticKeySource({"keys": [key, other]})


def test_signing_key_needs_private_material(token_world: Any) -> None:
    assert load_signing_key(token_world.ggz.key.private_jwk).algorithm_name == "EdDSA"
    with pytest.raises(InvalidKeyMaterial):
        load_signing_key(token_world.ggz.key.public_jwk)


# --------------------------------------------------------------------------------------------
# Resolving


def test_resolver_binds_each_kid_to_its_partner(token_world: Any) -> None:
    w = token_world
    resolver = StaticKeyResolver(w.partners_config())
    assert resolver.key_for(w.police.id, w.police.key.kid).algorithm_name == "ES256"
    assert resolver.is_known(w.ggz.id) and not resolver.is_known("politie-fake")
    assert resolver.allowed_roles(w.staff.id) == {
        "participant",
        "procesregisseur",
        "casusregisseur",
    }
    assert resolver.allowed_roles("politie-fake") == frozenset()

    for partner_id, kid, reason in [
        ("politie-fake", w.police.key.kid, "unknown_issuer"),
        (w.police.id, "nope", "unknown_kid"),
        (w.police.id, w.ggz.key.kid, "kid_not_of_issuer"),
    ]:
        with pytest.raises(UnknownKey) as info:
            resolver.key_for(partner_id, kid)
        assert info.value.reason == reason


def test_allowed_roles_must_be_vocabulary(token_world: Any) -> None:
    jwks = {"keys": [token_world.police.key.public_jwk]}
    with pytest.raises(ValueError):
        StaticKeyResolver({"p": (jwks, ["participant", "admin"])})
    resolver = StaticKeyResolver({"p": (jwks, ["auditor"])})
    assert resolver.allowed_roles("p") == {Role.AUDITOR}


# --------------------------------------------------------------------------------------------
# A partner's IdP over real HTTP


def url_source(server: Any, clock: Any, **kwargs: Any) -> JwksUrlKeySource:
    return JwksUrlKeySource(
        server.url,
        clock=clock,
        unsafe_allow_http=True,
        timeout_s=2.0,
        **kwargs,
    )


def test_http_url_needs_the_unsafe_flag() -> None:
    with pytest.raises(ValueError):
        JwksUrlKeySource("http://idp.example/certs")
    with pytest.raises(ValueError):
        JwksUrlKeySource("file:///etc/passwd", unsafe_allow_http=True)
    JwksUrlKeySource("https://idp.example/certs")  # no I/O until first use


def test_refetch_interval_cannot_exceed_lifespan() -> None:
    with pytest.raises(ValueError):
        JwksUrlKeySource("https://idp.example/certs", lifespan_s=30, min_refetch_interval_s=60)


def test_keys_are_fetched_once_within_their_lifespan(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    source = url_source(jwks_server, jwks_clock, lifespan_s=300)
    for _ in range(25):
        assert source.key_for(token_world.ggz.key.kid).algorithm_name == "EdDSA"
        jwks_clock.advance(10)  # 250 s in all
    assert jwks_server.count() == 1
    jwks_clock.advance(60)  # past the lifespan
    source.key_for(token_world.ggz.key.kid)
    assert jwks_server.count() == 2


def test_unknown_kid_spray_costs_the_idp_one_fetch_a_minute(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    source = url_source(jwks_server, jwks_clock, min_refetch_interval_s=60)
    source.key_for(token_world.ggz.key.kid)
    jwks_clock.advance(61)
    for _ in range(200):
        with pytest.raises(UnknownKey):
            source.key_for(secrets.token_urlsafe(8))
        jwks_clock.advance(0.25)  # 50 s of spraying
    assert jwks_server.count() == 2  # the first fetch and one refetch
    jwks_clock.advance(15)
    for _ in range(50):
        with pytest.raises(UnknownKey):
            source.key_for(secrets.token_urlsafe(8))
    assert jwks_server.count() == 3


def test_concurrent_unknown_kids_share_one_fetch(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    jwks_server.delay_s = 0.2
    source = url_source(jwks_server, jwks_clock)
    errors: list[BaseException] = []

    def spray() -> None:
        try:
            source.key_for(secrets.token_urlsafe(8))
        except UnknownKey:
            pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=spray) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert jwks_server.count() == 1


def test_rotated_key_is_picked_up_and_withdrawn_key_dropped(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    old, new = token_world.ggz.key, token_world.outsider_eddsa
    jwks_server.jwks = {"keys": [old.public_jwk]}
    source = url_source(jwks_server, jwks_clock, lifespan_s=300)
    source.key_for(old.kid)
    jwks_server.jwks = {"keys": [new.public_jwk]}  # the partner rotates
    with pytest.raises(UnknownKey):
        source.key_for(new.kid)  # within the refetch interval: not yet
    jwks_clock.advance(61)
    assert source.key_for(new.kid).algorithm_name == "EdDSA"
    with pytest.raises(UnknownKey):
        source.key_for(old.kid)  # the refetch replaced the set
    assert jwks_server.count() == 2


def test_idp_down_at_start_fails_closed_without_hammering(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    jwks_server.status = 500
    source = url_source(jwks_server, jwks_clock)
    for _ in range(50):
        with pytest.raises(KeySourceUnavailable):
            source.key_for(token_world.ggz.key.kid)
    assert jwks_server.count() == 1
    jwks_server.status = 200
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    jwks_clock.advance(60)
    assert source.key_for(token_world.ggz.key.kid)
    assert jwks_server.count() == 2


def test_outage_serves_last_keys_for_a_bounded_time(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    kid = token_world.ggz.key.kid
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    source = url_source(jwks_server, jwks_clock, lifespan_s=300, max_stale_s=600)
    source.key_for(kid)
    jwks_server.status = 503
    jwks_clock.advance(301)
    assert source.key_for(kid)  # refresh failed; last good keys still serve
    for _ in range(20):
        source.key_for(kid)
        jwks_clock.advance(1)
    assert jwks_server.count() == 2  # no retry within the interval
    jwks_clock.advance(600)  # beyond lifespan + max_stale
    with pytest.raises(KeySourceUnavailable):
        source.key_for(kid)


def test_unusable_idp_keys_are_skipped_not_trusted(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    w = token_world
    jwks_server.jwks = {
        "keys": [
            {"kty": "RSA", "kid": "rsa-1", "n": "sXch", "e": "AQAB", "alg": "RS256"},
            {"kty": "oct", "kid": "hs-1", "k": "c2VjcmV0"},
            {**w.police.key.public_jwk, "kid": "enc-1", "use": "enc"},
            {**w.staff.key.private_jwk, "kid": "leaked-1"},
            {**w.police.key.public_jwk, "kid": "dup"},
            {**w.staff.key.public_jwk, "kid": "dup"},
            "not a key",
            w.police.key.public_jwk,
        ]
    }
    source = url_source(jwks_server, jwks_clock)
    assert source.key_for(w.police.key.kid).algorithm_name == "ES256"
    assert source.cached_kids() == {w.police.key.kid}


def test_non_json_answer_counts_as_unavailable(jwks_server: Any, jwks_clock: Any) -> None:
    jwks_server.jwks = ["not", "a", "jwks"]
    source = url_source(jwks_server, jwks_clock)
    with pytest.raises(KeySourceUnavailable):
        source.key_for("k1")


def test_broken_answer_does_not_withdraw_good_keys(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    kid = token_world.ggz.key.kid
    jwks_server.jwks = {"keys": [token_world.ggz.key.public_jwk]}
    source = url_source(jwks_server, jwks_clock, lifespan_s=300)
    source.key_for(kid)
    jwks_server.jwks = {"error": "maintenance"}
    jwks_clock.advance(301)
    assert source.key_for(kid)  # kept, within max_stale_s
    jwks_server.jwks = {"keys": []}  # a real, empty JWKS withdraws every key
    jwks_clock.advance(60)
    with pytest.raises(UnknownKey):
        source.key_for(kid)
    assert jwks_server.count() == 3


def test_verify_token_with_idp_keys_end_to_end(
    jwks_server: Any, jwks_clock: Any, token_world: Any
) -> None:
    w = token_world
    jwks_server.jwks = {"keys": [w.ggz.key.public_jwk]}
    resolver = KeySetResolver(
        {
            w.ggz.id: PartnerKeys(url_source(jwks_server, jwks_clock), frozenset({"participant"})),
            w.police.id: PartnerKeys(
                StaticKeySource({"keys": [w.police.key.public_jwk]}), frozenset({"participant"})
            ),
        }
    )

    def verify(raw: str) -> Any:
        return verify_token(
            raw,
            audience=w.audience,
            keys=resolver,
            replay=InMemoryReplayGuard(clock=lambda: w.now),
            now=w.now,
        )

    assert verify(w.token(w.ggz)).partner_id == w.ggz.id
    # The police key, validly used, cannot speak for the IdP partner ...
    forged = w.token(w.ggz, key=w.police.key)
    with pytest.raises(AuthenticationError) as info:
        verify(forged)
    assert info.value.reason == "kid_not_of_issuer"
    # ... and the IdP's keys cannot speak for the police.
    forged = w.token(w.police, key=w.ggz.key)
    with pytest.raises(AuthenticationError) as info:
        verify(forged)
    assert info.value.reason == "kid_not_of_issuer"
    assert jwks_server.count() == 1

    jwks_server.status = 500
    down = KeySetResolver(
        {w.ggz.id: PartnerKeys(url_source(jwks_server, jwks_clock), frozenset({"participant"}))}
    )
    with pytest.raises(AuthenticationError) as info:
        verify_token(
            w.token(w.ggz),
            audience=w.audience,
            keys=down,
            replay=InMemoryReplayGuard(),
            now=w.now,
        )
    assert info.value.reason == "key_source_unavailable"
