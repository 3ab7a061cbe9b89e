"""Vendored browser assets: pinned npm tarballs, verified, and the few files the web app serves.

The pin file ``hub/web/static/vendor/vendor.toml`` lists, per npm package, the exact version,
the tarball's ``integrity`` (the sha512 Subresource-Integrity string the npm registry publishes)
and the files taken out of it, each with its target name and sha256. There is no Node build
chain: a Python developer refreshes the assets with one command.

    python -m hub.web.vendor            fetch the pinned tarballs and (re)write the vendored files
    python -m hub.web.vendor --check    no network: every vendored file has its recorded sha256
    python -m hub.web.vendor --upgrade  move each pin to the newest version on its track
                                        (registry metadata), then fetch and record new hashes

A tarball is checked against its pinned integrity before anything is read out of it; only the
listed regular files are read (by exact member name, never by extracting the archive), and they
are written only to target names that stay inside the vendor directory.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import re
import sys
import tarfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import quote

import httpx

REGISTRY: Final = "https://registry.npmjs.org"
VENDOR_DIR: Final = Path(__file__).parent / "static" / "vendor"
PIN_FILE: Final = VENDOR_DIR / "vendor.toml"
#: files in the vendor directory that are not vendored assets
OWN_FILES: Final = frozenset({"vendor.toml", "README.md"})
#: a tarball larger than this is refused (the packages we vendor are well under 1 MiB)
MAX_TARBALL_BYTES: Final = 32 * 1024 * 1024
MAX_FILE_BYTES: Final = 8 * 1024 * 1024

_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_TRACK = re.compile(r"^(latest|\d+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class VendorError(Exception):
    """A pin, a tarball or a vendored file is not what it should be."""


@dataclass(frozen=True)
class PinnedFile:
    source: str  # member name inside the tarball, e.g. "package/dist/htmx.min.js"
    target: str  # path under the vendor directory, e.g. "htmx.org/htmx.min.js"
    sha256: str  # hex; empty only before the first fetch


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    track: str  # "latest" or a major version number: what --upgrade may move to
    integrity: str  # "sha512-<base64>"; empty only before the first --upgrade
    license: str
    files: tuple[PinnedFile, ...] = field(default_factory=tuple)

    @property
    def tarball_url(self) -> str:
        basename = self.name.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.name}/-/{basename}-{self.version}.tgz"


def target_path(vendor_dir: Path, target: str) -> Path:
    """The place of a vendored file, refusing any target that could leave the vendor directory."""
    pure = PurePosixPath(target)
    if (
        not target
        or "\\" in target
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in target.split("/"))
    ):
        raise VendorError(f"unsafe target path {target!r}")
    path = vendor_dir.joinpath(*pure.parts)
    root = vendor_dir.resolve()
    if not path.resolve().is_relative_to(root) or (path.name in OWN_FILES and path.parent == root):
        raise VendorError(f"target path {target!r} leaves or overwrites the vendor directory")
    return path


def load_pins(pin_file: Path = PIN_FILE) -> list[Pin]:
    data = tomllib.loads(pin_file.read_text(encoding="utf-8"))
    pins: list[Pin] = []
    for raw in data.get("package", []):
        pin = Pin(
            name=_str(raw, "name"),
            version=_str(raw, "version"),
            track=_str(raw, "track"),
            integrity=_str(raw, "integrity"),
            license=_str(raw, "license"),
            files=tuple(
                PinnedFile(_str(f, "source"), _str(f, "target"), _str(f, "sha256"))
                for f in raw.get("file", [])
            ),
        )
        _validate(pin)
        pins.append(pin)
    targets = [f.target for pin in pins for f in pin.files]
    if len(targets) != len(set(targets)):
        raise VendorError("two pinned files share a target")
    return pins


def _str(table: dict[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise VendorError(f"{key} must be a string, got {value!r}")
    return value


def _validate(pin: Pin) -> None:
    if not _NAME.fullmatch(pin.name):
        raise VendorError(f"bad npm package name {pin.name!r}")
    if not _VERSION.fullmatch(pin.version):
        raise VendorError(f"{pin.name}: version must be exact (x.y.z), got {pin.version!r}")
    if not _TRACK.fullmatch(pin.track):
        raise VendorError(f"{pin.name}: track must be 'latest' or a major number")
    if pin.integrity and not pin.integrity.startswith("sha512-"):
        raise VendorError(f"{pin.name}: integrity must be a sha512 SRI string")
    if not pin.files:
        raise VendorError(f"{pin.name}: no files listed")
    for f in pin.files:
        if not f.source.startswith("package/") or ".." in f.source.split("/"):
            raise VendorError(f"{pin.name}: bad source member {f.source!r}")
        if f.sha256 and not _SHA256.fullmatch(f.sha256):
            raise VendorError(f"{pin.name}: bad sha256 for {f.target}")
        target_path(VENDOR_DIR, f.target)


def dump_pins(pins: Sequence[Pin]) -> str:
    """The pin file's text (a fixed schema, so a small writer instead of a TOML library)."""

    def s(value: str) -> str:
        if any(c in value for c in '"\\\n\r\t'):
            raise VendorError(f"refusing to write {value!r}")
        return f'"{value}"'

    lines = [
        "# Vendored browser assets, pinned. Refresh with: python -m hub.web.vendor [--upgrade]",
        "# Check (no network) with: python -m hub.web.vendor --check",
        "# integrity: the npm registry's sha512 for the tarball, verified before extracting.",
        "# track: what --upgrade may move to ('latest', or a major version number).",
    ]
    for pin in pins:
        lines += [
            "",
            "[[package]]",
            f"name = {s(pin.name)}",
            f"version = {s(pin.version)}",
            f"track = {s(pin.track)}",
            f"license = {s(pin.license)}",
            f"integrity = {s(pin.integrity)}",
        ]
        for f in pin.files:
            lines += [
                "",
                "[[package.file]]",
                f"source = {s(f.source)}",
                f"target = {s(f.target)}",
                f"sha256 = {s(f.sha256)}",
            ]
    return "\n".join(lines) + "\n"


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def verify_integrity(pin: Pin, tarball: bytes) -> None:
    if not pin.integrity:
        raise VendorError(f"{pin.name}@{pin.version}: no integrity pinned")
    if not hmac.compare_digest(sri_sha512(tarball), pin.integrity):
        raise VendorError(f"{pin.name}@{pin.version}: tarball does not match its integrity")


def read_members(pin: Pin, tarball: bytes) -> dict[str, bytes]:
    """The listed files' bytes, read by exact member name; call only after verify_integrity."""
    wanted = {f.source for f in pin.files}
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive:
            if member.name not in wanted:
                continue
            if member.name in found:
                raise VendorError(f"{pin.name}: {member.name} appears twice in the tarball")
            if not member.isreg():
                raise VendorError(f"{pin.name}: {member.name} is not a regular file")
            if member.size > MAX_FILE_BYTES:
                raise VendorError(f"{pin.name}: {member.name} is too large")
            handle = archive.extractfile(member)
            if handle is None:
                raise VendorError(f"{pin.name}: cannot read {member.name}")
            found[member.name] = handle.read()
    missing = wanted - found.keys()
    if missing:
        raise VendorError(f"{pin.name}@{pin.version}: not in the tarball: {sorted(missing)}")
    return found


def download(client: httpx.Client, url: str) -> bytes:
    if not url.startswith(REGISTRY + "/"):
        raise VendorError(f"refusing to download from {url}")
    chunks: list[bytes] = []
    size = 0
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_TARBALL_BYTES:
                raise VendorError(f"{url} is larger than {MAX_TARBALL_BYTES} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def newest_on_track(client: httpx.Client, pin: Pin) -> tuple[str, str]:
    """The newest stable version on the pin's track, and its integrity, from registry metadata."""
    response = client.get(f"{REGISTRY}/{quote(pin.name, safe='@')}")
    response.raise_for_status()
    meta = response.json()
    versions: dict[str, Any] = meta["versions"]
    if pin.track == "latest":
        version = str(meta["dist-tags"]["latest"])
    else:
        candidates = [
            v for v in versions if _VERSION.fullmatch(v) and v.split(".", 1)[0] == pin.track
        ]
        if not candidates:
            raise VendorError(f"{pin.name}: no version on track {pin.track}")
        version = max(candidates, key=lambda v: tuple(int(p) for p in v.split(".")))
    if not _VERSION.fullmatch(version):
        raise VendorError(f"{pin.name}: registry offers {version!r}, not a stable version")
    integrity = str(versions[version]["dist"]["integrity"])
    return version, integrity


def fetch(pins: Sequence[Pin], vendor_dir: Path = VENDOR_DIR, *, record: bool = False) -> list[Pin]:
    """Download, verify and write every pinned file; with ``record``, (re)record the sha256s.

    Without ``record`` a file whose bytes differ from its pinned sha256 is an error (the
    registry served a different file under the same integrity: impossible unless the pin file
    was edited by hand); a file with no sha256 yet gets one. Nothing is written until every
    package has been verified.
    """
    updated: list[Pin] = []
    outputs: dict[Path, bytes] = {}
    with httpx.Client(timeout=60.0, follow_redirects=False) as client:
        for pin in pins:
            tarball = download(client, pin.tarball_url)
            verify_integrity(pin, tarball)
            members = read_members(pin, tarball)
            files: list[PinnedFile] = []
            for f in pin.files:
                data = members[f.source]
                digest = hashlib.sha256(data).hexdigest()
                if f.sha256 and not record and not hmac.compare_digest(digest, f.sha256):
                    raise VendorError(f"{f.target}: sha256 {digest} differs from the pin")
                outputs[target_path(vendor_dir, f.target)] = data
                files.append(replace(f, sha256=digest))
            updated.append(replace(pin, files=tuple(files)))
    for path, data in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return updated


def upgrade(pins: Sequence[Pin]) -> list[Pin]:
    moved: list[Pin] = []
    with httpx.Client(timeout=60.0, follow_redirects=False) as client:
        for pin in pins:
            version, integrity = newest_on_track(client, pin)
            moved.append(replace(pin, version=version, integrity=integrity))
    return moved


def check(pin_file: Path = PIN_FILE, vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Problems with the vendored files on disk (empty: all good). Uses no network."""
    problems: list[str] = []
    pins = load_pins(pin_file)
    expected: set[Path] = set()
    for pin in pins:
        if not pin.integrity:
            problems.append(f"{pin.name}: no integrity pinned")
        for f in pin.files:
            path = target_path(vendor_dir, f.target)
            expected.add(path)
            if not f.sha256:
                problems.append(f"{f.target}: no sha256 pinned")
            elif not path.is_file():
                problems.append(f"{f.target}: missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != f.sha256:
                problems.append(f"{f.target}: sha256 differs from the pin")
    for path in sorted(vendor_dir.rglob("*")):
        relative = path.relative_to(vendor_dir).as_posix()
        if path.is_file() and path not in expected and relative not in OWN_FILES:
            problems.append(f"{relative}: not in the pin file")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hub.web.vendor", description="Fetch or check the vendored assets."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="verify files on disk; no network")
    mode.add_argument("--upgrade", action="store_true", help="move pins to the newest on track")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check()
            for problem in problems:
                print(f"vendor: {problem}", file=sys.stderr)
            if not problems:
                print(f"vendor: {sum(len(p.files) for p in load_pins())} files match their pins")
            return 1 if problems else 0
        pins = load_pins()
        if args.upgrade:
            pins = upgrade(pins)
        pins = fetch(pins, record=args.upgrade)
        PIN_FILE.write_text(dump_pins(pins), encoding="utf-8")
        for pin in pins:
            print(f"vendor: {pin.name}@{pin.version} ({len(pin.files)} files)")
        return 0
    except (VendorError, httpx.HTTPError, tarfile.TarError, OSError) as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
