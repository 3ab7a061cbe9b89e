"""The vendored browser assets: pinned, verified, complete, and no third-party origin anywhere."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import httpx
import pytest

from hub.web import vendor

WEB = Path(vendor.__file__).parent
STATIC = WEB / "static"
TEMPLATES = WEB / "templates"
LICENCE_NAMES = {"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING"}

#: an attribute or CSS url() pointing at another origin: http(s)://... or protocol-relative //...
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*|url\(\s*["']?\s*)"""
    r"""(?:https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the check must not use the network")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx, "get", refuse)


def test_every_vendored_file_matches_its_pin(no_network: None) -> None:
    assert vendor.check() == []
    assert vendor.main(["--check"]) == 0


def test_pins_are_exact_with_sha512_integrity_and_licences() -> None:
    pins = {pin.name: pin for pin in vendor.load_pins()}
    assert set(pins) == {"htmx.org", "@utrecht/component-library-css"}
    for pin in pins.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", pin.version)
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", pin.integrity)
        assert all(re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in pin.files)
        assert any(Path(f.target).name in LICENCE_NAMES for f in pin.files), pin.name
    assert pins["@utrecht/component-library-css"].license == "EUPL-1.2"
    assert (STATIC / "vendor/utrecht/component-library-css/index.css").stat().st_size > 100_000


def test_vendored_htmx_is_2x() -> None:
    (pin,) = [p for p in vendor.load_pins() if p.name == "htmx.org"]
    assert pin.version.startswith("2.")
    source = (STATIC / "vendor/htmx.org/htmx.min.js").read_text(encoding="utf-8")
    match = re.search(r'version:"(\d+\.\d+\.\d+)"', source)
    assert match is not None and match.group(1) == pin.version


def test_no_third_party_origin_in_static_or_templates() -> None:
    offenders = []
    for root in (STATIC, TEMPLATES):
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name in LICENCE_NAMES or path.suffix == ".toml":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{path.relative_to(WEB)}: {m.group(0)}" for m in EXTERNAL.finditer(text)]
    assert offenders == []


def test_the_origin_check_would_notice() -> None:
    for bad in (
        '<script src="https://cdn.example/htmx.js">',
        "<link href='//fonts.example/x.css'>",
        'a { background: url("https://x.example/a.png") }',
        "@font-face { src: url( //x.example/f.woff2) }",
    ):
        assert EXTERNAL.search(bad), bad
    # a data: URL that mentions the SVG namespace is fine (the Utrecht CSS has such icons)
    assert not EXTERNAL.search(
        "url(\"data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'\")"
    )


def test_check_notices_a_changed_missing_or_stray_file(tmp_path: Path) -> None:
    vendor_dir = tmp_path / "vendor"
    vendor_dir.mkdir()
    pin_file = vendor_dir / "vendor.toml"
    pin_file.write_text((STATIC / "vendor/vendor.toml").read_text(encoding="utf-8"))
    for pin in vendor.load_pins(pin_file):
        for f in pin.files:
            target = vendor.target_path(vendor_dir, f.target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((STATIC / "vendor" / f.target).read_bytes())
    assert vendor.check(pin_file, vendor_dir) == []
    (vendor_dir / "htmx.org/htmx.min.js").write_text("alert(1)")
    (vendor_dir / "utrecht/component-library-css/LICENSE.txt").unlink()
    (vendor_dir / "extra.js").write_text("")
    problems = vendor.check(pin_file, vendor_dir)
    assert any("htmx.min.js: sha256 differs" in p for p in problems)
    assert any("LICENSE.txt: missing" in p for p in problems)
    assert any("extra.js: not in the pin file" in p for p in problems)


@pytest.mark.parametrize("target", ["../x.js", "/etc/passwd", "a/../../b", "a//b", "a\\b", "", "."])
def test_unsafe_targets_are_refused(target: str, tmp_path: Path) -> None:
    with pytest.raises(vendor.VendorError):
        vendor.target_path(tmp_path, target)


def _tarball(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


def _pin(tarball: bytes, source: str = "package/dist/a.js") -> vendor.Pin:
    return vendor.Pin(
        name="example",
        version="1.0.0",
        track="1",
        integrity=vendor.sri_sha512(tarball),
        license="0BSD",
        files=(vendor.PinnedFile(source, "example/a.js", ""),),
    )


def test_integrity_is_checked_before_anything_is_read() -> None:
    tarball = _tarball({"package/dist/a.js": b"ok"})
    pin = _pin(tarball)
    vendor.verify_integrity(pin, tarball)
    assert vendor.read_members(pin, tarball) == {"package/dist/a.js": b"ok"}
    tampered = _tarball({"package/dist/a.js": b"evil"})
    with pytest.raises(vendor.VendorError, match="integrity"):
        vendor.verify_integrity(pin, tampered)


def test_only_listed_regular_files_are_read() -> None:
    tarball = _tarball({"package/dist/other.js": b"x"}, symlink="package/dist/a.js")
    with pytest.raises(vendor.VendorError, match="not a regular file"):
        vendor.read_members(_pin(tarball), tarball)
    tarball = _tarball({"package/../../evil": b"x"})
    with pytest.raises(vendor.VendorError, match="not in the tarball"):
        vendor.read_members(_pin(tarball), tarball)


def test_pin_file_round_trips(tmp_path: Path) -> None:
    pins = vendor.load_pins()
    copy = tmp_path / "vendor.toml"
    copy.write_text(vendor.dump_pins(pins), encoding="utf-8")
    assert vendor.load_pins(copy) == pins
    assert copy.read_bytes() == (STATIC / "vendor/vendor.toml").read_bytes()


def test_sri_matches_what_npm_computes() -> None:
    # npm's integrity is "sha512-" + base64(sha512(tarball bytes)); the digest of b"" is well known
    assert vendor.sri_sha512(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )
