"""hub.crypto is infrastructure: it stands on nothing in the hub but the vocabulary, and key
bytes never leave it.

(That only hub.crypto imports cryptography.hazmat is checked in tests/foundation.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

CRYPTO = Path(__file__).resolve().parents[2] / "hub" / "crypto"
HUB = CRYPTO.parent

#: Provider methods that once returned raw key bytes (removed; use blind_indexer()/audit_signer()).
KEY_BYTES_METHODS = frozenset({"blind_index_key", "audit_signing_key"})
#: hub.crypto.blind_index functions that once took raw key bytes (removed: only the
#: BlindIndexer holds the key).
KEY_BYTES_FUNCTIONS = frozenset({"blind_index", "bsn_index", "name_dob_index"})


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 2:  # "from .. import x" leaves hub.crypto
                names.add(f"hub.{node.module or ''}")
            elif node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_crypto_imports_nothing_from_the_hub_but_itself_and_the_vocabulary() -> None:
    for path in CRYPTO.rglob("*.py"):
        for name in _imports(path):
            if name == "hub" or name.startswith("hub."):
                assert name.startswith(("hub.crypto", "hub.vocabulary")), f"{path}: {name}"


def _outside_crypto() -> Iterator[tuple[str, ast.AST]]:
    """(file:line, node) for every AST node of every module under hub/ but not hub/crypto."""
    for path in sorted(HUB.rglob("*.py")):
        if CRYPTO in path.parents:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(HUB.parent)
        for node in ast.walk(tree):
            yield f"{where}:{getattr(node, 'lineno', 0)}", node


def test_no_module_outside_hub_crypto_asks_a_provider_for_key_bytes() -> None:
    """Feature code uses keys.blind_indexer() and keys.audit_signer(), never the raw keys."""
    offenders = [
        f"{where} .{node.attr}"
        for where, node in _outside_crypto()
        if isinstance(node, ast.Attribute) and node.attr in KEY_BYTES_METHODS
    ]
    assert offenders == []


def test_no_module_outside_hub_crypto_uses_the_key_bytes_blind_index_functions() -> None:
    """bsn_index(key, ...) and friends need the key in hand; BlindIndexer keeps it inside."""
    offenders = [
        f"{where} {alias.name}"
        for where, node in _outside_crypto()
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hub.crypto")
        for alias in node.names
        if alias.name in KEY_BYTES_FUNCTIONS
    ]
    offenders += [
        f"{where} .{node.attr}"
        for where, node in _outside_crypto()
        if isinstance(node, ast.Attribute) and node.attr in KEY_BYTES_FUNCTIONS - {"blind_index"}
    ]
    assert offenders == []
