"""hub.crypto is infrastructure: it stands on nothing in the hub but the vocabulary.

(That only hub.crypto imports cryptography.hazmat is checked in tests/foundation.)
"""

from __future__ import annotations

import ast
from pathlib import Path

CRYPTO = Path(__file__).resolve().parents[2] / "hub" / "crypto"


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
