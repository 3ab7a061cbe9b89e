"""A partner application talking to vhhub: the smallest complete client.

It needs only httpx and PyJWT (with `cryptography`, which PyJWT's EdDSA and ES256 use):

    pip install httpx 'pyjwt[crypto]'

What it shows, in the order a partner integrates (docs/partner-integration.md):

1. tokens: the partner signs a short-lived, single-use JWT per request with its own key;
2. the contract: which fact types exist and what their content must hold;
3. publish a fact (idempotent: a retry with the same key creates nothing twice);
4. check the hub's signed receipt of that publish offline, with the hub's public key
   (`vhhub audit public-key`, obtained out of band and pinned): the signature, and that the
   keyed digest in it is the digest of the content this client sent, and the inclusion
   proof of its access-log entry against a checkpoint the hub signed;
5. pull the updates feed of the case with its cursor;
6. fetch the partner's own access log (every act by its users, every disclosure of its
   facts), page by page.

Run it against a hub, for a case in which the police take part (the `$CASE` of
docs/walkthrough.md, for one)::

    python examples/partner_client.py --hub http://127.0.0.1:8000 --partner politie \\
        --key .vhhub/keys/partners/politie.private.jwk --case CASE_ID \\
        --content schemas/examples/police.incident.1.json --hub-key "$(vhhub audit public-key)"

Nothing here imports vhhub: a partner's developers can copy it as it is.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

API = "/api/v1"
TOKEN_TYPE = "vhhub-at+jwt"  # noqa: S105 (a media type, not a secret)
RECEIPT_TYPE = "vhhub-receipt+jws"


class HubError(Exception):
    """The hub answered a problem (RFC 9457); `problem` is its body, `status` the code."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


@dataclass
class PartnerClient:
    """One user of one partner application, with the partner's private signing key (a JWK)."""

    hub: str
    partner: str
    user: str
    roles: list[str]
    private_jwk: dict[str, Any]
    audience: str = "vhhub"
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.hub.rstrip("/") + API, timeout=30)
        self._key = jwt.PyJWK(self.private_jwk)

    # -- 1. tokens --------------------------------------------------------------------------

    def token(self) -> str:
        """A fresh token: the hub refuses a token it has seen before (`jti`), or one that
        lives longer than 15 minutes. `kid` names the key in the partner's registered JWKS."""
        now = int(time.time())
        claims = {
            "iss": self.partner,
            "sub": self.user,  # a pseudonymous user id, never a name
            "aud": self.audience,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(24),
            "roles": self.roles,
        }
        headers = {"typ": TOKEN_TYPE, "kid": self.private_jwk["kid"]}
        return jwt.encode(
            claims, self._key.key, algorithm=self._key.algorithm_name, headers=headers
        )

    def request(self, method: str, path: str, *, purpose: str, **kw: Any) -> Any:
        """One call: a new token, the purpose of the request, problem+json raised as HubError."""
        headers = {"Authorization": f"Bearer {self.token()}", "Purpose": purpose}
        response = self.http.request(method, path, headers=headers, **kw)
        if response.status_code >= 400:
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                raise HubError(response.status_code, response.json())
            response.raise_for_status()
        return response.json()

    # -- 2. the contract --------------------------------------------------------------------

    def fact_types(self, purpose: str) -> list[dict[str, Any]]:
        return list(self.request("GET", "/fact-types", purpose=purpose)["fact_types"])

    def fact_type(self, type_id: str, purpose: str) -> dict[str, Any]:
        # the type id is the path: police.incident/1 -> /fact-types/police.incident/1
        return dict(self.request("GET", f"/fact-types/{type_id}", purpose=purpose))

    # -- 3. publish -------------------------------------------------------------------------

    def publish(
        self,
        case_id: str,
        *,
        key: str,
        fact_type: str,
        legal_basis: str,
        content: dict[str, Any],
        purpose: str,
    ) -> dict[str, Any]:
        body = {
            "idempotency_key": key,
            "type": fact_type,
            "legal_basis": legal_basis,
            "content": content,
        }
        answer = self.request("POST", f"/cases/{case_id}/facts", purpose=purpose, json=body)
        return dict(answer["facts"][0])

    # -- 5. updates -------------------------------------------------------------------------

    def updates(self, case_id: str, cursor: str, purpose: str) -> tuple[list[dict[str, Any]], str]:
        """Every fact released to this user that changed after `cursor`; the cursor to keep
        for the next poll (the feed's `next_cursor` is never null)."""
        facts: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET", f"/cases/{case_id}/updates", purpose=purpose, params={"cursor": cursor}
            )
            facts.extend(page["facts"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return facts, cursor

    # -- 6. the partner's own access log ----------------------------------------------------

    def own_log(self, purpose: str, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every access-log record in which this partner is the actor or the source."""
        cursor: int | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            page = self.request("GET", "/partner-log/entries", purpose=purpose, params=params)
            yield from page["records"]
            cursor = page.get("next_cursor")
            if cursor is None:  # the last page
                return

    def own_log_entry(self, seq: int, purpose: str) -> dict[str, Any]:
        """One record of the partner's own log with its inclusion proof and signed checkpoint
        (any other position answers 404, like one that does not exist)."""
        return dict(self.request("GET", f"/partner-log/entries/{seq}", purpose=purpose))

    def close(self) -> None:
        self.http.close()


# -- 4. the receipt, checked offline ---------------------------------------------------------


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hub_public_key(verifier_key: str) -> Ed25519PublicKey:
    """The Ed25519 key in the hub's verifier key `<name>+<8 hex>+<base64(0x01 || key)>`
    (what `vhhub audit public-key` prints and checkpoints are signed with)."""
    name, key_hash, encoded = verifier_key.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError("not an Ed25519 verifier key")
    # the key hash binds the name to the key (signed-note format)
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()
    if not hmac.compare_digest(expected, key_hash):
        raise ValueError("the verifier key's hash does not match its name and key")
    return Ed25519PublicKey.from_public_bytes(raw[1:])


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) for JSON without non-integer numbers: sorted keys (by UTF-16 code
    units), no whitespace, strings as JSON writes them without escaping non-ASCII. Fact content
    with decimal numbers needs a full JCS implementation (e.g. the `rfc8785` package)."""

    def check(item: Any) -> Any:
        if isinstance(item, float):
            raise ValueError("this example canonicalises integers only; use an RFC 8785 library")
        if isinstance(item, dict):
            return {
                k: check(v)
                for k, v in sorted(item.items(), key=lambda kv: kv[0].encode("utf-16-be"))
            }
        if isinstance(item, list):
            return [check(v) for v in item]
        return item

    return json.dumps(check(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def verify_receipt(
    receipt: str, verifier_key: str, *, content: dict[str, Any], salt: str
) -> dict[str, Any]:
    """The receipt's claims, after checking its signature under the hub's key and that its
    `content_digest` is HMAC-SHA256(salt, JCS(content)) of the content this client sent.
    Raises ValueError (or PyJWT's InvalidSignatureError) when a check fails."""
    header = jwt.get_unverified_header(receipt)
    if header.get("typ") != RECEIPT_TYPE or header.get("alg") != "EdDSA":
        raise ValueError("not a vhhub receipt")
    name, key_hash, _ = verifier_key.strip().split("+", 2)
    if header.get("kid") != f"{name}+{key_hash}":
        raise ValueError("the receipt names another key than the hub's")
    signed = jwt.PyJWS().decode_complete(
        receipt, key=hub_public_key(verifier_key), algorithms=["EdDSA"]
    )
    claims: dict[str, Any] = json.loads(signed["payload"])
    mac = hmac.new(_b64url_decode(salt), canonical_json(content), hashlib.sha256).digest()
    digest = "hmac-sha256:" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(digest, str(claims.get("content_digest"))):
        raise ValueError("the receipt's digest is not that of the content sent")
    return claims


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2: the audit path leads from the leaf at `index` to `root`."""
    if index >= size:
        raise ValueError("the entry is not in the checkpoint")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or not hmac.compare_digest(r, root):
        raise ValueError("the inclusion proof does not lead to the checkpoint's root")


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """(origin, tree size, root) of a C2SP checkpoint note signed by the hub's key."""
    raw_key = base64.b64decode(verifier_key.strip().split("+", 2)[2])
    public_key = hub_public_key(verifier_key)
    text, _, signatures = note.rpartition("\n\n")
    signed = False
    for line in signatures.rstrip("\n").split("\n"):
        signer, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(encoded)
        # a signature line is the hub key's when its key hash is that key's under the line's
        # name (other lines may be witnesses' cosignatures)
        ours = hashlib.sha256(signer.encode() + b"\n" + raw_key).digest()[:4]
        if raw[:4] == ours:
            try:
                public_key.verify(raw[4:], (text + "\n").encode("utf-8"))
            except InvalidSignature:
                raise ValueError("the checkpoint's signature does not verify") from None
            signed = True
    if not signed:
        raise ValueError("the checkpoint is not signed by the hub's key")
    origin, size, root = text.split("\n")
    return origin, int(size), base64.b64decode(root)


def verify_receipt_proof(claims: dict[str, Any], record: dict[str, Any], verifier_key: str) -> int:
    """Check that the receipt's log entry is in a checkpoint the hub signed: the record's
    position and leaf hash are the receipt's, and its inclusion proof leads to the signed
    root. Answers the checkpoint's tree size (keep the note: it pins the log's history)."""
    if record["seq"] != claims["log"]["seq"] or record["leaf_hash"] != claims["log"]["leaf_hash"]:
        raise ValueError("the proof is for another entry than the receipt's")
    origin, size, root = open_checkpoint(record["checkpoint"]["note"], verifier_key)
    if origin != claims["iss"]:
        raise ValueError("the checkpoint is of another log than the receipt's")
    path = [bytes.fromhex(h) for h in record["proof"]]
    verify_inclusion(record["seq"], size, bytes.fromhex(record["leaf_hash"]), path, root)
    return size


# -- the walk through all of it --------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub", required=True, help="the hub's base URL")
    parser.add_argument("--partner", required=True, help="your partner id in the registry")
    parser.add_argument("--user", default="app-client-1", help="a pseudonymous user id")
    parser.add_argument("--key", type=Path, required=True, help="your private signing JWK")
    parser.add_argument("--case", required=True, help="a case you take part in")
    parser.add_argument("--hub-key", required=True, help="the hub's pinned verifier key")
    parser.add_argument("--audience", default="vhhub")
    parser.add_argument("--content", type=Path, required=True, help="the content (JSON file)")
    parser.add_argument("--fact-type", default="police.incident/1")
    parser.add_argument("--legal-basis", default="wpg_art_19")
    parser.add_argument("--idempotency-key", default=None)
    args = parser.parse_args(argv)

    client = PartnerClient(
        hub=args.hub,
        partner=args.partner,
        user=args.user,
        roles=["publisher", "participant"],
        private_jwk=json.loads(args.key.read_text(encoding="utf-8")),
        audience=args.audience,
    )
    try:
        # 2. the contract: what this type's content must hold
        types = client.fact_types(purpose="preparation")
        print(f"fact types: {len(types)}")
        fact_type = client.fact_type(args.fact_type, purpose="preparation")
        print(f"{fact_type['id']} requires: {', '.join(fact_type['schema']['required'])}")

        # 3. publish (keep content, receipt and salt together: they prove what you sent)
        content = json.loads(args.content.read_text(encoding="utf-8"))
        key = args.idempotency_key or f"example-{secrets.token_hex(6)}"
        published = client.publish(
            args.case,
            key=key,
            fact_type=args.fact_type,
            legal_basis=args.legal_basis,
            content=content,
            purpose="preparation",
        )
        print(f"published {published['id']} version {published['version']}")

        # 4. the receipt, offline: only the hub's pinned key is needed
        claims = verify_receipt(
            published["receipt"], args.hub_key, content=content, salt=published["receipt_salt"]
        )
        print(f"receipt ok: {claims['action']} {claims['fact_id']} log seq {claims['log']['seq']}")

        # 5. the updates feed: start at 0, keep the cursor for the next poll
        facts, cursor = client.updates(args.case, "0", purpose="preparation")
        ours = [f for f in facts if f["id"] == published["id"]]
        print(f"updates: {len(facts)} facts, ours {'in' if ours else 'not in'} the feed")
        later, _ = client.updates(args.case, cursor, purpose="preparation")
        print(f"updates since the kept cursor: {len(later)}")

        # ... and its inclusion proof against a checkpoint the hub signed
        record = client.own_log_entry(claims["log"]["seq"], purpose="audit")
        size = verify_receipt_proof(claims, record, args.hub_key)
        print(f"receipt's log entry proven in the signed checkpoint of size {size}")

        # 6. the partner's own log: the publish above is in it
        entries = list(client.own_log(purpose="audit"))
        seqs = {e["seq"] for e in entries}
        where = "in" if claims["log"]["seq"] in seqs else "not in"
        print(f"own log: {len(entries)} entries, the receipt's entry {where} it")
    except HubError as exc:
        print(f"the hub refused: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
