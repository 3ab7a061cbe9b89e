"""The layering docs/principles.md (section 1) promises, checked on the source so a violation
fails CI.

- infrastructure (db, crypto, rego) imports no feature package;
- only hub/crypto touches cryptography's hazmat layer;
- only the token module imports PyJWT;
- routers never touch the database or crypto directly.
"""

from __future__ import annotations

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
FEATURES = {
    "identity",
    "cases",
    "facts",
    "disclosure",
    "briefing",
    "plans",
    "audit",
    "policy_review",
    "retention",
    "demo",
}
INFRASTRUCTURE = {"db", "crypto", "rego"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((HUB / package).rglob("*.py"))


def test_infrastructure_imports_no_feature_package() -> None:
    offenders = []
    for package in INFRASTRUCTURE:
        for path in python_files(package):
            for name in imports_of(path):
                parts = name.split(".")
                if parts[0] == "hub" and len(parts) > 1 and parts[1] in FEATURES:
                    offenders.append(f"{path.relative_to(HUB)} imports {name}")
    assert offenders == []


def test_only_crypto_touches_hazmat() -> None:
    offenders = [
        str(path.relative_to(HUB))
        for path in HUB.rglob("*.py")
        if "crypto" not in path.relative_to(HUB).parts[:1]
        and any(n.startswith("cryptography.hazmat") for n in imports_of(path))
    ]
    assert offenders == []


def test_only_the_token_module_imports_pyjwt() -> None:
    allowed = {"identity/tokens.py", "identity/keysets.py"}
    offenders = [
        str(path.relative_to(HUB))
        for path in HUB.rglob("*.py")
        if str(path.relative_to(HUB)) not in allowed
        and any(n == "jwt" or n.startswith("jwt.") for n in imports_of(path))
    ]
    assert offenders == []


def test_routers_touch_neither_database_nor_crypto() -> None:
    offenders = []
    for path in HUB.rglob("router.py"):
        for name in imports_of(path):
            if name.startswith(("sqlalchemy", "hub.crypto", "hub.db", "cryptography")):
                offenders.append(f"{path.relative_to(HUB)} imports {name}")
    assert offenders == []
