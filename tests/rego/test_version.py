"""The policy version names exactly the policy and data files: any change to them changes it,
nothing else does, and the OPA bundle carries it as its revision."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from hub.rego.bundle import DEFAULT_POLICY_DIR, load_bundle, policy_version, write_opa_bundle


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def test_the_version_is_a_sha256_hex_digest_and_stable() -> None:
    version = policy_version(DEFAULT_POLICY_DIR)
    assert len(version) == 64 and int(version, 16) >= 0
    assert policy_version(DEFAULT_POLICY_DIR) == version


def test_a_copy_elsewhere_has_the_same_version(policies: Path) -> None:
    assert policy_version(policies) == policy_version(DEFAULT_POLICY_DIR)


@pytest.mark.parametrize(
    "changed",
    ["disclosure.rego", "disclosure_test.rego", "data/network.json", "data/matrix/youth.json"],
)
def test_changing_any_policy_data_or_test_file_changes_the_version(
    policies: Path, changed: str
) -> None:
    before = policy_version(policies)
    path = policies / changed
    path.write_text(path.read_text() + "\n")
    assert policy_version(policies) != before


def test_renaming_a_file_changes_the_version(policies: Path) -> None:
    before = policy_version(policies)
    (policies / "publish_test.rego").rename(policies / "publish2_test.rego")
    assert policy_version(policies) != before


def test_documentation_beside_the_policies_does_not_change_the_version(policies: Path) -> None:
    before = policy_version(policies)
    (policies / "NOTES.md").write_text("reviewed on Tuesday")
    assert policy_version(policies) == before


def test_the_opa_bundle_carries_the_version_as_revision_and_is_reproducible(
    tmp_path: Path,
) -> None:
    bundle = load_bundle(DEFAULT_POLICY_DIR)
    first = write_opa_bundle(bundle, tmp_path / "a.tar.gz").read_bytes()
    second = write_opa_bundle(bundle, tmp_path / "b.tar.gz").read_bytes()
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as archive:
        names = archive.getnames()
        manifest_file = archive.extractfile(".manifest")
        assert manifest_file is not None
        manifest = json.load(manifest_file)
    assert manifest == {"revision": bundle.version, "roots": ["vhhub"]}
    assert "disclosure.rego" in names and "data.json" in names
    assert not any(name.endswith("_test.rego") for name in names)
