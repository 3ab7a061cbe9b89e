"""What the hub's token checks cost on top of a bare PyJWT decode, per algorithm.

    .venv/bin/python bench/token_bench.py [--tokens 2000] [--rounds 5]

Each round verifies the same freshly minted tokens (unique jti each) once with
``hub.identity.tokens.verify_token`` and once with a bare ``jwt.decode`` (signature, exp, aud),
interleaved; the figures are process CPU time, best round of each, which filters out most noise
from other load on the machine. The replay guard here
accepts everything, so the figure is the verification cost alone: the database-backed guard
adds one INSERT per request on top.
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hub.identity.keysets import StaticKeyResolver, load_verification_key
from hub.identity.tokens import mint_token, verify_token

AUDIENCE = "https://vhhub.bench/api/v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256_jwk(kid: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    n = key.private_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": _b64(n.public_numbers.x.to_bytes(32, "big")),
        "y": _b64(n.public_numbers.y.to_bytes(32, "big")),
        "d": _b64(n.private_value.to_bytes(32, "big")),
    }


def eddsa_jwk(kid: str) -> dict[str, Any]:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    public = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    private = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": _b64(public), "d": _b64(private)}


class AcceptAll:
    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        return True


def us_per_token(fn: Callable[[str], object], tokens: list[str]) -> float:
    # CPU time of this process, not wall time: other processes on a shared machine then
    # inflate the figures far less.
    start = time.process_time()
    for token in tokens:
        fn(token)
    return (time.process_time() - start) / len(tokens) * 1e6


def bench(alg: str, private_jwk: dict[str, Any], count: int, rounds: int) -> tuple[float, float]:
    public_jwk = {k: v for k, v in private_jwk.items() if k != "d"}
    resolver = StaticKeyResolver({"bench-partner": ({"keys": [public_jwk]}, ["participant"])})
    now = int(time.time())
    tokens = [
        mint_token(
            partner_id="bench-partner",
            user=f"user-{i}",
            roles=["participant"],
            private_jwk=private_jwk,
            audience=AUDIENCE,
            now=now,
        )
        for i in range(count)
    ]
    guard = AcceptAll()
    key = load_verification_key(public_jwk)

    def hub_verify(token: str) -> object:
        return verify_token(token, audience=AUDIENCE, keys=resolver, replay=guard, now=now)

    def bare_decode(token: str) -> object:
        return jwt.decode(token, key=key, algorithms=[alg], audience=AUDIENCE)

    hub_verify(tokens[0]), bare_decode(tokens[0])  # warm up
    ours, bare = float("inf"), float("inf")
    for _ in range(rounds):  # interleaved, so a burst of load hits both sides alike
        ours = min(ours, us_per_token(hub_verify, tokens))
        bare = min(bare, us_per_token(bare_decode, tokens))
    return ours, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"{args.tokens} tokens, best of {args.rounds} rounds")
    print(f"{'alg':<6} {'verify_token µs':>16} {'jwt.decode µs':>14} {'ratio':>6}")
    for alg, jwk in (("ES256", es256_jwk("bench-es")), ("EdDSA", eddsa_jwk("bench-ed"))):
        ours, bare = bench(alg, jwk, args.tokens, args.rounds)
        print(f"{alg:<6} {ours:>16.1f} {bare:>14.1f} {ours / bare:>6.2f}")


if __name__ == "__main__":
    main()
