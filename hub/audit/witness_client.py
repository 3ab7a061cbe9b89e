"""A partner's witness: its own state, one witnessing round, key rotation (ADR 0406).

Run by the partner (`vhhub witness run`), never by the hub: the point is that a party other
than the hub remembers the log it was shown. Each round fetches the newest checkpoint with a
consistency proof from the last size this witness saw, checks the hub's signature (following
the hub's signed key lists from the key pinned at `init`) and the proof, remembers the new
checkpoint, and returns a C2SP cosignature. A hub that shows this witness a log that does not
extend the one it saw before (a fork: a split view, a rollback) gets no cosignature: the
round stops with `SplitView`, keeps the evidence (both notes and the proof) in the state
directory, and leaves the remembered checkpoint as it was.

State directory (mode 0700, files 0600)::

    witness.key        the witness's Ed25519 seed (base64url, like the hub's key files)
    witness.json       name, pinned log key, accepted key lists, per-origin last checkpoint,
                       a pending key rotation
    evidence/          one JSON file per inconsistency found
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from hub.audit.checkpoints import CheckpointError
from hub.audit.keylist import key_set
from hub.audit.merkle import ProofError, verify_consistency
from hub.audit.witness import cosign, make_rotation, parse_witness_key, witness_vkey
from hub.crypto.key_files import write_secret_file
from hub.crypto.key_text import decode_key_text, encode_key_text
from hub.crypto.signing import SigningKey, generate_signing_seed
from hub.logging import get_logger

_log = get_logger("hub.audit.witness_client")

KEY_FILE: Final = "witness.key"
NEXT_KEY_FILE: Final = "witness-next.key"
STATE_FILE: Final = "witness.json"


class WitnessError(Exception):
    """The round could not be completed (hub unreachable, refused, bad answer): try again."""


class SplitView(Exception):
    """The hub showed a log that does not extend the one this witness saw: never cosign."""

    def __init__(self, message: str, evidence: Path) -> None:
        super().__init__(message)
        self.evidence = evidence


@dataclass(frozen=True, slots=True)
class RoundResult:
    origin: str
    tree_size: int
    cosigned: bool
    #: cosignatures on the note the hub returned (including ours)
    note: str


def _chmod_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_seed(path: Path) -> SigningKey:
    text = path.read_text(encoding="ascii").strip()
    return SigningKey.from_seed(decode_key_text(text, source=path.name))


class WitnessState:
    """The witness's directory: key, pinned log key, what it saw."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.data: dict[str, Any] = json.loads((self.dir / STATE_FILE).read_text("utf-8"))
        self.key = _read_seed(self.dir / KEY_FILE)

    @classmethod
    def init(cls, directory: Path, name: str, log_key: str) -> WitnessState:
        directory = Path(directory)
        if (directory / STATE_FILE).exists():
            raise FileExistsError(f"{directory} already holds a witness")
        from hub.audit.checkpoints import parse_verifier_key

        parse_verifier_key(log_key)  # refuse a typo before anything is written
        _chmod_dir(directory)
        seed = generate_signing_seed()
        write_secret_file(directory / KEY_FILE, f"{encode_key_text(seed)}\n".encode())
        witness_vkey(name, SigningKey.from_seed(seed).public_key())  # checks the name
        _write_json(
            directory / STATE_FILE,
            {"name": name, "log_key": log_key, "key_lists": [], "logs": {}, "rotation": None},
        )
        return cls(directory)

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def vkey(self) -> str:
        return witness_vkey(self.name, self.key.public_key())

    def save(self) -> None:
        _write_json(self.dir / STATE_FILE, self.data)

    # -- key rotation ----------------------------------------------------------------------

    def start_rotation(self) -> str:
        """Make a new key and the statement handing over to it (signed by both keys); the
        next round sends the statement and switches once the hub accepted it."""
        if self.data.get("rotation"):
            raise WitnessError("a key rotation is already pending: run a round first")
        seed = generate_signing_seed()
        path = self.dir / NEXT_KEY_FILE
        path.unlink(missing_ok=True)
        write_secret_file(path, f"{encode_key_text(seed)}\n".encode())
        new = SigningKey.from_seed(seed)
        statement = make_rotation(self.key, self.name, new, self.name, int(time.time()))
        self.data["rotation"] = statement
        self.save()
        return witness_vkey(self.name, new.public_key())

    def finish_rotation(self) -> None:
        statement = self.data.get("rotation")
        if not statement:
            return
        retired = self.dir / f"witness-retired-{int(time.time())}.key"
        os.replace(self.dir / KEY_FILE, retired)
        os.replace(self.dir / NEXT_KEY_FILE, self.dir / KEY_FILE)
        self.key = _read_seed(self.dir / KEY_FILE)
        self.data["rotation"] = None
        self.data.setdefault("rotations", []).append(statement)
        self.save()


TokenSource = Callable[[], str]


class Witness:
    """One witness talking to one hub."""

    def __init__(self, state: WitnessState, http: httpx.Client, token: TokenSource) -> None:
        self.state = state
        self.http = http
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", "Purpose": "audit"}

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, headers=self._headers(), **kw)
        except httpx.HTTPError as exc:
            raise WitnessError(f"the hub did not answer ({type(exc).__name__})") from None

    def _send_rotation(self) -> None:
        statement = self.state.data.get("rotation")
        if not statement:
            return
        answer = self._call(
            "POST", "/api/v1/audit/witness/key-rotations", json={"statement": statement}
        )
        if answer.status_code not in (201, 409):
            raise WitnessError(f"the hub refused the key rotation ({answer.status_code})")
        self.state.finish_rotation()
        _log.info("witness_key_rotated", name=self.state.name)

    def round(self) -> RoundResult:
        """One witnessing round; raises `SplitView` (never cosigns) or `WitnessError`."""
        self._send_rotation()
        logs: dict[str, Any] = self.state.data["logs"]
        # one hub, one log: the origin is whatever the pinned key's log calls itself
        seen = next(iter(logs.values()), None)
        old_size = int(seen["size"]) if seen else 0
        answer = self._call(
            "GET", "/api/v1/audit/witness/checkpoints/latest", params={"from": old_size}
        )
        if answer.status_code == 400 and old_size > 0:
            # no proof from our size: is the hub's newest checkpoint smaller than what we saw?
            answer = self._call(
                "GET", "/api/v1/audit/witness/checkpoints/latest", params={"from": 0}
            )
        if answer.status_code != 200:
            raise WitnessError(f"the hub refused the checkpoint ({answer.status_code})")
        body = answer.json()
        note, lists = str(body["note"]), [str(n) for n in body["key_lists"]]
        accepted: list[str] = self.state.data["key_lists"]
        if lists[: len(accepted)] != accepted:
            raise self._split(
                "the hub's key lists do not extend the ones this witness accepted", seen, body
            )
        try:
            keys = key_set(self.state.data["log_key"], lists)
            checkpoint, _ = keys.open(note)
        except CheckpointError as exc:
            raise WitnessError(f"the checkpoint does not verify: {exc}") from None
        if int(body["tree_size"]) != checkpoint.tree_size:
            raise WitnessError("the hub answered for another size than its checkpoint's")
        if checkpoint.tree_size < old_size:
            raise self._split(
                f"the hub's newest checkpoint has size {checkpoint.tree_size}, smaller than the "
                f"size {old_size} this witness saw before: the log was rolled back",
                seen,
                body,
            )
        if int(body["old_size"]) != old_size:
            raise WitnessError("the hub answered for other sizes than asked")
        if seen is not None:
            if seen["origin"] != checkpoint.origin:
                raise WitnessError("the hub's log has another origin than before")
            old_root = base64.b64decode(seen["root"])
            try:
                proof = [bytes.fromhex(h) for h in body["proof"]]
                verify_consistency(old_size, checkpoint.tree_size, old_root, checkpoint.root, proof)
            except (ProofError, ValueError):
                raise self._split(
                    f"checkpoint of size {checkpoint.tree_size} is not consistent with the "
                    f"one of size {old_size} this witness saw before",
                    seen,
                    body,
                ) from None
        # remember before cosigning: a cosignature says "the largest tree I have seen"
        logs[checkpoint.origin] = {
            "origin": checkpoint.origin,
            "size": checkpoint.tree_size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "note": note,
        }
        self.state.data["key_lists"] = lists
        self.state.save()
        line = cosign(note, self.state.key, self.state.name, int(time.time()))
        posted = self._call(
            "POST",
            f"/api/v1/audit/checkpoints/{checkpoint.tree_size}/cosignatures",
            json={"cosignature": line.rstrip("\n")},
        )
        if posted.status_code != 200:
            raise WitnessError(f"the hub refused the cosignature ({posted.status_code})")
        _log.info("witness_cosigned", origin=checkpoint.origin, tree_size=checkpoint.tree_size)
        return RoundResult(checkpoint.origin, checkpoint.tree_size, True, posted.json()["note"])

    def _split(self, problem: str, seen: Mapping[str, Any] | None, body: Any) -> SplitView:
        evidence_dir = self.state.dir / "evidence"
        _chmod_dir(evidence_dir)
        path = evidence_dir / f"inconsistency-{time.time_ns()}.json"
        _write_json(
            path,
            {
                "problem": problem,
                "seen": dict(seen) if seen else None,
                "shown": body,
                "at": int(time.time()),
            },
        )
        _log.error(
            "witness_split_view_detected",
            seen_size=None if seen is None else seen["size"],
            shown_size=body.get("tree_size") if isinstance(body, dict) else None,
            evidence=str(path),
        )
        return SplitView(problem, path)


def check_witness_key(text: str) -> str:
    """A witness vkey, checked (for the hub's operator registering it)."""
    return parse_witness_key(text).text
