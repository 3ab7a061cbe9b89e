"""Checkpoints are C2SP signed notes that other tools can check, and nothing forged passes.

Known answers come from golang.org/x/mod/sumdb/note (note_test.go): the PeterNeumann key,
its verifier key text and the exact signature Go produces (Ed25519 is deterministic, so our
signature over the same text must be byte-identical), and RFC 8032 test 1 for the
Ed25519 primitive in `hub.crypto.signing`.
"""

from __future__ import annotations

import base64
import pickle
import re
from pathlib import Path

import pytest

from hub.audit.checkpoints import (
    DEFAULT_ORIGIN,
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    key_hash,
    open_checkpoint,
    open_note,
    parse_and_verify_checkpoint,
    parse_verifier_key,
    peek_checkpoint_unsafe,
    peek_tree_size_unsafe,
    sign_checkpoint,
    sign_note,
    verifier_key_text,
)
from hub.audit.merkle import EMPTY_ROOT, leaf_hash
from hub.crypto.signing import (
    InvalidKeyEncoding,
    SignatureError,
    SigningKey,
    VerifyKey,
    generate_signing_seed,
)

# -- golang.org/x/mod/sumdb/note known answers ----------------------------------------------

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
ENOCH_SIG_B64 = (
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
)
PETER_SIG = f"— PeterNeumann {PETER_SIG_B64}\n"
ENOCH_SIG = f"— EnochRoot {ENOCH_SIG_B64}\n"


def peter_key() -> SigningKey:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01  # algorithm byte: Ed25519
    return SigningKey.from_seed(raw[1:])


def test_verifier_key_text_and_key_hash_match_go() -> None:
    key = peter_key()
    assert verifier_key_text("PeterNeumann", key.public_key()) == PETER_VKEY
    assert key_hash("PeterNeumann", key.public_key()).hex() == "c74f20a3"


def test_our_signed_note_is_byte_identical_to_go() -> None:
    assert sign_note(GO_TEXT, peter_key(), "PeterNeumann") == GO_TEXT + "\n" + PETER_SIG


def test_notes_signed_by_go_open_and_other_signers_are_skipped() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    both = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(both, peter) == GO_TEXT
    assert open_note(both, enoch) == GO_TEXT  # verifies Go's EnochRoot signature too
    assert open_note(both.encode("utf-8"), peter) == GO_TEXT
    with pytest.raises(CheckpointError):
        open_note(GO_TEXT + "\n" + ENOCH_SIG, peter)  # no signature by the trusted key


def test_go_malformed_notes_are_refused() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    bad_notes = [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + "— Bad Name " + PETER_SIG.split(" ", 2)[2],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
        GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],
    ]
    for note in bad_notes:
        with pytest.raises(CheckpointError):
            open_note(note, peter)
    with pytest.raises(CheckpointError):
        open_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(), peter)


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    # As TestNewVerifier in note_test.go: every proper substring, every byte incremented.
    parse_verifier_key(PETER_VKEY)
    b = PETER_VKEY
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(CheckpointError):
                    parse_verifier_key(b[i:j])
    for i in range(len(b)):
        with pytest.raises(CheckpointError):
            parse_verifier_key(b[:i] + chr(ord(b[i]) + 1) + b[i + 1 :])
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        PETER_VKEY.replace("c74f20a3", "C74F20A3"),
    ):
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


# -- checkpoints -----------------------------------------------------------------------------

ROOT = leaf_hash(b"some root")


@pytest.fixture(scope="module")
def hub_key() -> SigningKey:
    return SigningKey.from_seed(bytes(range(32)))


@pytest.fixture(scope="module")
def vkey(hub_key: SigningKey) -> str:
    return verifier_key_text(DEFAULT_ORIGIN, hub_key.public_key())


@pytest.fixture(scope="module")
def note(hub_key: SigningKey) -> str:
    return sign_checkpoint(DEFAULT_ORIGIN, 1234, ROOT, hub_key, DEFAULT_ORIGIN)


def test_a_checkpoint_has_the_c2sp_shape(note: str) -> None:
    lines = note.split("\n")
    assert lines[:4] == [DEFAULT_ORIGIN, "1234", base64.b64encode(ROOT).decode(), ""]
    assert re.fullmatch(r"— vhhub\.local/access-log [A-Za-z0-9+/]{91}=", lines[4])
    assert lines[5:] == [""]
    assert checkpoint_body(DEFAULT_ORIGIN, 1234, ROOT) == note.split("\n\n")[0] + "\n"


def test_a_signed_checkpoint_parses_back(note: str, vkey: str) -> None:
    assert parse_and_verify_checkpoint(note, vkey) == Checkpoint(DEFAULT_ORIGIN, 1234, ROOT)
    assert parse_and_verify_checkpoint(note, vkey, expected_origin=DEFAULT_ORIGIN).tree_size == (
        1234
    )
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(note, vkey, expected_origin="other.example/log")


def test_the_empty_tree_has_a_checkpoint_too(hub_key: SigningKey, vkey: str) -> None:
    n = sign_checkpoint(DEFAULT_ORIGIN, 0, EMPTY_ROOT, hub_key, DEFAULT_ORIGIN)
    assert parse_and_verify_checkpoint(n, vkey) == Checkpoint(DEFAULT_ORIGIN, 0, EMPTY_ROOT)


def test_flipping_any_bit_of_a_checkpoint_is_detected(note: str, vkey: str) -> None:
    raw = note.encode("utf-8")
    for i in range(len(raw)):
        for mask in (0x01, 0x02, 0x20, 0x80):
            mangled = bytearray(raw)
            mangled[i] ^= mask
            with pytest.raises(CheckpointError):
                parse_and_verify_checkpoint(bytes(mangled), vkey)


def test_truncating_or_extending_a_checkpoint_is_detected(note: str, vkey: str) -> None:
    for end in range(len(note)):
        with pytest.raises(CheckpointError):
            parse_and_verify_checkpoint(note[:end], vkey)
    for extra in ("\n", " ", "x\n", "— x\n"):
        with pytest.raises(CheckpointError):
            parse_and_verify_checkpoint(note + extra, vkey)


def test_another_key_cannot_sign_a_checkpoint(vkey: str) -> None:
    forger = SigningKey.from_seed(generate_signing_seed())
    for name in (DEFAULT_ORIGIN, "someone-else"):
        forged = sign_checkpoint(DEFAULT_ORIGIN, 1234, ROOT, forger, name)
        with pytest.raises(CheckpointError):
            parse_and_verify_checkpoint(forged, vkey)


def test_a_signature_moved_to_another_body_fails(note: str, vkey: str) -> None:
    _, sig = note.split("\n\n")
    other = checkpoint_body(DEFAULT_ORIGIN, 1235, ROOT)
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(other + "\n" + sig, vkey)


def test_witness_cosignatures_are_ignored_but_ours_must_hold(
    note: str, vkey: str, hub_key: SigningKey
) -> None:
    witness = SigningKey.from_seed(bytes([7]) * 32)
    body = note.split("\n\n")[0] + "\n"
    witness_line = sign_note(body, witness, "witness.example").split("\n\n")[1]
    assert parse_and_verify_checkpoint(note + witness_line, vkey).tree_size == 1234
    # A second, bad signature claiming to be ours poisons the note.
    ours = note.split("\n\n")[1]
    raw = bytearray(base64.b64decode(ours.split(" ")[2]))
    raw[10] ^= 1
    bad = ours.split(" ")[0] + " " + ours.split(" ")[1] + " " + base64.b64encode(raw).decode()
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(note + bad + "\n", vkey)


@pytest.mark.parametrize(
    "body",
    [
        "vhhub.local/access-log\n01234\n{root}\n",  # leading zero
        "vhhub.local/access-log\n+1234\n{root}\n",
        "vhhub.local/access-log\n18446744073709551616\n{root}\n",  # > uint64
        "vhhub.local/access-log\n1234\n{root}\nextension line\n",  # we write none
        "vhhub.local/access-log\n1234\n{short}\n",
        "vhhub.local/access-log\n1234\n{nopad}\n",
        "vhhub.local/access-log\n1234\n",
        "vhhub.local/access log\n1234\n{root}\n",
    ],
)
def test_strict_body_rules(body: str, hub_key: SigningKey, vkey: str) -> None:
    text = body.format(
        root=base64.b64encode(ROOT).decode(),
        short=base64.b64encode(ROOT[:31]).decode(),
        nopad=base64.b64encode(ROOT).decode().rstrip("="),
    )
    signed = sign_note(text, hub_key, DEFAULT_ORIGIN)
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(signed, vkey)


def test_non_canonical_base64_is_refused(note: str, vkey: str) -> None:
    # The last base64 digit of a 32-byte root carries 2 unused bits; set them.
    root_b64 = base64.b64encode(ROOT).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = root_b64[-2]
    sneaky = root_b64[:-2] + alphabet[alphabet.index(last) | 1] + "="
    assert base64.b64decode(sneaky) == ROOT
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(note.replace(root_b64, sneaky), vkey)


def test_signing_refuses_bad_input(hub_key: SigningKey) -> None:
    for args in (
        ("", 1, ROOT),
        ("has space", 1, ROOT),
        ("o\nrigin", 1, ROOT),
        (DEFAULT_ORIGIN, -1, ROOT),
        (DEFAULT_ORIGIN, 1 << 64, ROOT),
        (DEFAULT_ORIGIN, True, ROOT),
        (DEFAULT_ORIGIN, 1, ROOT[:31]),
    ):
        with pytest.raises(CheckpointError):
            sign_checkpoint(*args, hub_key, DEFAULT_ORIGIN)
    for name in ("", "a+b", "a b"):
        with pytest.raises(CheckpointError):
            sign_checkpoint(DEFAULT_ORIGIN, 1, ROOT, hub_key, name)


def test_peek_reads_the_claimed_size_only(note: str) -> None:
    assert peek_tree_size_unsafe(note) == 1234
    with pytest.raises(CheckpointError):
        peek_tree_size_unsafe("not a note")


# -- hub.crypto.signing ------------------------------------------------------------------------

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG_EMPTY = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
    "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_ed25519_matches_rfc8032_test_1() -> None:
    key = SigningKey.from_seed(RFC8032_SEED)
    assert key.public_key().to_bytes() == RFC8032_PUBLIC
    assert key.sign(b"") == RFC8032_SIG_EMPTY
    VerifyKey.from_bytes(RFC8032_PUBLIC).verify(b"", RFC8032_SIG_EMPTY)


def test_signature_failures_are_one_opaque_error() -> None:
    key = SigningKey.from_seed(RFC8032_SEED)
    public = key.public_key()
    sig = key.sign(b"message")
    other = SigningKey.from_seed(generate_signing_seed()).public_key()
    for msg, s, k in (
        (b"messagE", sig, public),
        (b"message", sig[:-1] + bytes([sig[-1] ^ 1]), public),
        (b"message", sig[:63], public),
        (b"message", b"", public),
        (b"message", sig, other),
    ):
        with pytest.raises(SignatureError) as info:
            k.verify(msg, s)
        assert str(info.value) == "signature verification failed"


def test_keys_never_show_key_bytes() -> None:
    key = SigningKey.from_seed(RFC8032_SEED)
    for text in (repr(key), str(key), repr(key.public_key())):
        assert RFC8032_SEED.hex()[:8] not in text
        assert RFC8032_PUBLIC.hex()[:8] not in text
        assert base64.b64encode(RFC8032_PUBLIC).decode()[:8] not in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_public_key_text_form_round_trips() -> None:
    public = SigningKey.from_seed(RFC8032_SEED).public_key()
    text = public.to_text()
    assert text.startswith("ed25519:")
    assert VerifyKey.from_text(text) == public
    assert VerifyKey.from_bytes(public.to_bytes()) == public
    assert hash(VerifyKey.from_text(text)) == hash(public)
    for bad in ("", text[8:], text[:-2], "x25519:" + text[8:], text + "=", text.replace("=", "")):
        with pytest.raises(InvalidKeyEncoding):
            VerifyKey.from_text(bad)
    for raw in (b"", RFC8032_PUBLIC[:31], RFC8032_PUBLIC + b"\x00"):
        with pytest.raises(InvalidKeyEncoding):
            VerifyKey.from_bytes(raw)
    with pytest.raises(InvalidKeyEncoding):
        SigningKey.from_seed(RFC8032_SEED[:31])


def test_seeds_are_fresh() -> None:
    assert len({generate_signing_seed() for _ in range(8)}) == 8


def test_only_hub_crypto_touches_the_crypto_library() -> None:
    # docs/principles.md section 3: the access log signs through hub.crypto.signing, never hazmat.
    audit_dir = Path(__file__).resolve().parents[2] / "hub" / "audit"
    for path in audit_dir.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "cryptography" not in source.replace("cryptography is", ""), path.name


# -- the key name is the origin (C2SP tlog-checkpoint) --------------------------------------


def test_the_hubs_signer_key_name_is_the_log_origin() -> None:
    """C2SP tlog-checkpoint: the log's key is named by its origin, so a witness or client
    finds the key from the checkpoint's first line. There is no separate key-name setting."""
    from hub.audit.log import LogSigner
    from hub.settings import Settings

    origin = "hub.example.nl/vhhub/access-log"
    signer = LogSigner(SigningKey.from_seed(bytes([5]) * 32), origin)
    assert signer.key_name == origin
    assert signer.verifier_key.startswith(origin + "+")
    note = sign_checkpoint(origin, 1, leaf_hash(b"x"), signer.key, signer.key_name)
    assert note.splitlines()[-1].startswith(f"— {origin} ")
    checkpoint, names = open_checkpoint(note, parse_verifier_key(signer.verifier_key))
    assert checkpoint.origin == origin and names == (origin,)
    assert "log_key_name" not in Settings.model_fields
    assert Settings(log_origin=origin).log_origin == origin


def test_the_trusted_key_verifies_under_the_name_a_note_records_and_nobody_else_does() -> None:
    """Old notes carry the old key name; the key, not its label, is what is trusted."""
    key = SigningKey.from_seed(bytes([6]) * 32)
    body = checkpoint_body(DEFAULT_ORIGIN, 3, leaf_hash(b"y"))
    old = sign_note(body, key, "vhhub.local")
    new_vkey = verifier_key_text(DEFAULT_ORIGIN, key.public_key())
    checkpoint, names = open_checkpoint(old, parse_verifier_key(new_vkey))
    assert checkpoint.tree_size == 3 and names == ("vhhub.local",)
    # another key under the trusted key's own name or any other: skipped, so nothing trusted
    stranger = SigningKey.from_seed(bytes([7]) * 32)
    for name in (DEFAULT_ORIGIN, "vhhub.local"):
        with pytest.raises(CheckpointError, match="no signature by the trusted key"):
            open_note(sign_note(body, stranger, name), parse_verifier_key(new_vkey))
    # a witness's cosignature beside ours changes nothing
    cosigned = old + sign_note(body, stranger, "witness.example")[len(body) + 1 :]
    assert open_checkpoint(cosigned, parse_verifier_key(new_vkey))[1] == ("vhhub.local",)
    # a line that claims to be the trusted key under an old name must verify
    forged = old.replace(
        old.split(" ")[-1],
        base64.b64encode(key_hash("vhhub.local", key.public_key()) + bytes(64)).decode() + "\n",
    )
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(forged, parse_verifier_key(new_vkey))


def test_peek_checkpoint_reads_size_and_root_without_trusting_them() -> None:
    key = SigningKey.from_seed(bytes([8]) * 32)
    root = leaf_hash(b"z")
    note = sign_checkpoint(DEFAULT_ORIGIN, 12, root, key, DEFAULT_ORIGIN)
    assert peek_checkpoint_unsafe(note) == (12, root)
    with pytest.raises(CheckpointError):
        peek_checkpoint_unsafe("not a note")
