"""Bundles as bytes: what an upload may hold, and the canonical form the hub stores."""

from __future__ import annotations

import io
import tarfile

import pytest

from hub.policy_review.store import (
    MAX_MEMBERS,
    BundleRefused,
    BundleTooLarge,
    files_of_bundle,
    pack_files,
    read_bundle_bytes,
    version_of_files,
)
from hub.rego.bundle import load_bundle, policy_version
from tests.policy_review.conftest import POLICIES, bundle_of

SHIPPED = policy_version(POLICIES)


def tar_gz(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for info, payload in members:
            if payload is not None:
                info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return raw.getvalue()


def member(name: str, payload: bytes = b"package vhhub.x\n") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), payload


def test_a_hand_made_bundle_reads_as_the_same_version_with_or_without_its_top_directory() -> None:
    assert version_of_files(read_bundle_bytes(bundle_of(POLICIES))) == SHIPPED
    assert version_of_files(read_bundle_bytes(bundle_of(POLICIES, prefix="."))) == SHIPPED


def test_the_stored_form_is_canonical_and_holds_only_versioned_files() -> None:
    files = files_of_bundle(load_bundle(POLICIES))
    first, second = pack_files(files), pack_files(tuple(reversed(files)))
    assert first == second
    again = read_bundle_bytes(first)
    assert version_of_files(again) == SHIPPED
    assert not [f for f in again if f.path.endswith(".md")]


@pytest.mark.parametrize(
    "members",
    [
        [member("../escape.rego")],
        [member("/abs/path.rego")],
        [member("policies/a b.rego")],
        [member("data/x.json", b"{}")],  # no module at all
        [member("a.rego", b"\xff\xfe not utf-8")],
        [member("a.rego"), member("./a.rego")],
    ],
)
def test_a_bundle_with_odd_paths_or_content_is_refused(
    members: list[tuple[tarfile.TarInfo, bytes]],
) -> None:
    with pytest.raises(BundleRefused):
        read_bundle_bytes(tar_gz(*members))


def test_links_and_devices_are_refused() -> None:
    link = tarfile.TarInfo("policies/a.rego")
    link.type, link.linkname = tarfile.LNKTYPE, "policies/b.rego"
    fifo = tarfile.TarInfo("policies/pipe.rego")
    fifo.type = tarfile.FIFOTYPE
    for bad in (link, fifo):
        with pytest.raises(BundleRefused):
            read_bundle_bytes(tar_gz(member("policies/b.rego"), (bad, None)))


def test_too_many_files_are_refused_before_reading_them() -> None:
    many = [member(f"m{i}.rego") for i in range(MAX_MEMBERS + 1)]
    with pytest.raises(BundleTooLarge):
        read_bundle_bytes(tar_gz(*many))


def test_garbage_is_not_a_bundle() -> None:
    for data in (b"", b"not a tarball", b"\x1f\x8b\x08\x00garbage"):
        with pytest.raises(BundleRefused):
            read_bundle_bytes(data)
