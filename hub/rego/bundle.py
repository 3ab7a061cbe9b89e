"""The policy bundle on disk: which files make a policy version, and how data is laid out.

A policy version is identified by content, not by a counter, so the access log can name the
exact rules and matrix behind each decision and an auditor can replay it later. The same file
set feeds every engine (embedded, regopy, OPA bundle), so they cannot drift apart.

Layout of a policy directory:

- ``*.rego`` anywhere below it: modules (``*_test.rego`` are the policy's own tests);
- ``data/**/*.json``: the matrix and the network data. A file ``data/a/b.json`` lands at
  ``data.vhhub.a.b`` (the directory path becomes the data path, as OPA does for bundles).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.rego.errors import PolicyError

#: The repository's shipped policies. The lead's settings pass their own `policy_dir`.
DEFAULT_POLICY_DIR: Path = Path(__file__).resolve().parents[2] / "policies"

#: Root of the data tree: every data file lands under data.vhhub.
DATA_ROOT = "vhhub"

TEST_SUFFIX = "_test.rego"


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One file of the bundle: its path relative to the policy dir (POSIX) and its text."""

    path: str
    text: str

    @property
    def is_test(self) -> bool:
        return self.path.endswith(TEST_SUFFIX)


@dataclass(frozen=True, slots=True)
class PolicyBundle:
    """Everything an engine needs, read once from disk and identified by its version."""

    policy_dir: Path
    version: str
    modules: tuple[PolicyFile, ...]
    data_files: tuple[PolicyFile, ...]
    data: dict[str, Any]

    @property
    def policy_modules(self) -> tuple[PolicyFile, ...]:
        """The modules that decide (tests left out): what production engines load."""
        return tuple(m for m in self.modules if not m.is_test)

    @property
    def test_modules(self) -> tuple[PolicyFile, ...]:
        return tuple(m for m in self.modules if m.is_test)

    def data_json(self) -> str:
        return json.dumps(self.data, sort_keys=True, ensure_ascii=False)


def _read(policy_dir: Path, path: Path) -> PolicyFile:
    rel = path.relative_to(policy_dir).as_posix()
    try:
        return PolicyFile(rel, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file {rel} cannot be read: {type(exc).__name__}") from exc


def _policy_files(policy_dir: Path) -> tuple[tuple[PolicyFile, ...], tuple[PolicyFile, ...]]:
    if not policy_dir.is_dir():
        raise PolicyError(f"policy directory {policy_dir} does not exist")
    modules = tuple(_read(policy_dir, p) for p in sorted(policy_dir.rglob("*.rego")))
    data_dir = policy_dir / "data"
    data_files = (
        tuple(_read(policy_dir, p) for p in sorted(data_dir.rglob("*.json")))
        if data_dir.is_dir()
        else ()
    )
    if not modules:
        raise PolicyError(f"policy directory {policy_dir} holds no .rego modules")
    return modules, data_files


def compute_version(files: tuple[PolicyFile, ...]) -> str:
    """SHA-256 over the files sorted by path, each framed as path, length, content.

    The framing (NUL-separated path and byte length before the content) makes the hash
    unambiguous: moving bytes from one file into the next, or renaming a file, changes it.
    Test modules are included on purpose (ADR 0102): a version is approved together with the
    tests that proved it.
    """
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.path):
        content = item.text.encode("utf-8")
        digest.update(item.path.encode("utf-8") + b"\0" + str(len(content)).encode() + b"\0")
        digest.update(content)
    return digest.hexdigest()


def policy_version(policy_dir: Path = DEFAULT_POLICY_DIR) -> str:
    """The version (hex SHA-256) of the policy files in `policy_dir`."""
    modules, data_files = _policy_files(policy_dir)
    return compute_version(modules + data_files)


def package_name(text: str) -> str:
    """The module's package path (`vhhub.disclosure`), from its `package` line."""
    for line in text.splitlines():
        if line.startswith("package "):
            return line.removeprefix("package ").strip()
    return ""


def _package_roots(modules: tuple[PolicyFile, ...]) -> set[str]:
    """Second path segment of every `package vhhub.x`, so data cannot shadow a package."""
    roots: set[str] = set()
    for module in modules:
        parts = package_name(module.text).split(".")
        if len(parts) > 1 and parts[0] == DATA_ROOT:
            roots.add(parts[1])
    return roots


def _data_tree(data_files: tuple[PolicyFile, ...], packages: set[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for item in data_files:
        parts = item.path.removeprefix("data/").removesuffix(".json").split("/")
        if parts[0] in packages:
            raise PolicyError(f"data file {item.path} would shadow package {DATA_ROOT}.{parts[0]}")
        try:
            value = json.loads(item.text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"data file {item.path} is not valid JSON: {exc.msg}") from exc
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PolicyError(f"data file {item.path} collides with another data file")
            node = child
        if parts[-1] in node:
            raise PolicyError(f"data file {item.path} collides with another data file")
        node[parts[-1]] = value
    return {DATA_ROOT: tree}


def load_bundle(policy_dir: Path = DEFAULT_POLICY_DIR) -> PolicyBundle:
    """Read and check the policy directory once; engines then work from memory."""
    policy_dir = policy_dir.resolve()
    modules, data_files = _policy_files(policy_dir)
    data = _data_tree(data_files, _package_roots(modules))
    return PolicyBundle(
        policy_dir=policy_dir,
        version=compute_version(modules + data_files),
        modules=modules,
        data_files=data_files,
        data=data,
    )


def write_opa_bundle(bundle: PolicyBundle, target: Path) -> Path:
    """Write an OPA bundle (tar.gz) whose manifest revision is the policy version.

    The OPA engine checks that revision on every answer (provenance), so a sidecar serving a
    different policy than the hub expects fails closed. Test modules stay out of the bundle.
    The bundle is unsigned here; sign it in CI with `opa sign` (deploy/opa/README.md).
    """
    manifest = {"revision": bundle.version, "roots": [DATA_ROOT]}
    entries: list[tuple[str, bytes]] = [(".manifest", json.dumps(manifest).encode())]
    entries += [(m.path, m.text.encode("utf-8")) for m in bundle.policy_modules]
    entries.append(("data.json", json.dumps(bundle.data, sort_keys=True).encode("utf-8")))
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        target.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for name, payload in entries:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 0  # reproducible: same policy, same bytes
            archive.addfile(info, io.BytesIO(payload))
    return target
