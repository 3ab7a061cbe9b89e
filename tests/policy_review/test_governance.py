"""The network's rules for a policy change, as an attacker meets them over real HTTP (issue
14): one partner minting privacy officers cannot activate anything, a version must carry the
protected tests unchanged and pass them on its own, an approval is bound to the diff against
the active version, the quorum comes from the network file, and the protected suite itself
changes only by the same quorum."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.policy_review.governance import ProtectedSuite
from hub.policy_review.store import pack_files
from hub.policy_review.usecase import suite_from_bundle
from hub.rego.bundle import PolicyFile
from hub.rego.policy_tests import run_policy_tests
from hub.settings import PROJECT_ROOT, Settings
from hub.setup import initialise
from tests.conftest import RunningHub
from tests.policy_review.conftest import (
    NO_DIGEST,
    POLICIES,
    approval,
    bundle_of,
    diff_digest,
    log_entries,
    officer,
    officer_of,
    policy_copy,
    set_cell,
    suite_approval,
    suite_digest,
    upload,
    upload_suite,
)
from tests.policy_review.test_approval import candidate, digest_for, loaded_by, status_of
from tests.support import ok

PROTECTED = sorted(p.name for p in POLICIES.glob("*_test.rego"))
#: The cell of the role play: the shipped tests pin it (housing_needs at the conference).
PINNED_CELL = ("multi_problem", "housing", "case_conference", "case_conference")


# -- one partner alone ---------------------------------------------------------------------------


def incident_bundle(tmp_path: Path) -> Path:
    """The issue's upload: the shipped policy with a cell opened to housing, and instead of
    the network's tests one test that passes whatever the policy says."""
    target = policy_copy(tmp_path, "incident")
    set_cell(target, *PINNED_CELL, "mental_health_needs")
    for path in target.glob("*_test.rego"):
        path.unlink()
    (target / "own_test.rego").write_text(
        "package vhhub.own_test\n\nimport rego.v1\n\ntest_ok if { true }\n"
    )
    return target


def test_one_partner_minting_any_number_of_privacy_officers_cannot_activate_anything(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    """The incident of issue 14: a housing corporation uploads as po-a and approves as po-b
    and po-c. And a key partner doing the same with a good version gets no further."""
    settings = hub.settings
    housing = [officer_of(http, settings, "woningcorporatie", u) for u in ("po-a", "po-b", "po-c")]
    loaded = ok(upload(housing[0], bundle_of(incident_bundle(tmp_path))), 201)
    version = loaded["version"]
    # its own test passes, but that proves nothing: the network's checks fail
    assert loaded["tests_passed"] is True and loaded["tests"]["rules_exercised"] == 0
    assert loaded["checks"]["passed"] is False
    assert sorted(loaded["checks"]["protected"]["missing"]) == PROTECTED
    for po in housing[1:]:
        refused = approval(po, version, NO_DIGEST)
        assert refused.status_code == 403 and refused.json()["type"].endswith("/four-eyes")

    # a key partner with a good version: its own officers never count, however many
    police = [officer_of(http, settings, "politie", f"po-{i}") for i in range(6)]
    good = ok(upload(police[0], bundle_of(candidate(tmp_path))), 201)["version"]
    digest = diff_digest(police[1], good)
    for po in police[1:]:
        refused = approval(po, good, digest)
        assert refused.status_code == 403 and refused.json()["type"].endswith("/four-eyes")
    # nor does a partner approving what another loaded count twice
    ok(approval(officer_of(http, settings, "ggz", "x-1"), good, digest), 201)
    again = ok(approval(officer_of(http, settings, "ggz", "x-2"), good, digest), 200)
    assert again["activated"] is False and again["policy"]["approvals_counted"] == ["ggz"]

    listing = ok(housing[0].get("/api/v1/policies"))
    assert listing["active"] == shipped
    assert {v["version"]: v["status"] for v in listing["versions"]} == {
        shipped: "active",
        version: "inactive",
        good: "inactive",
    }
    assert hub.context.gate.version == shipped
    assert not log_entries(settings, "policy.activate")


# -- what a version must carry and pass ----------------------------------------------------------


def _failing_after(policy_dir: Path) -> dict[str, list[str]]:
    """package -> names of the tests that fail in `policy_dir`."""
    out: dict[str, list[str]] = {}
    for result in run_policy_tests(policy_dir).failures:
        out.setdefault(result.package, []).append(result.name)
    return out


def _shadowed(tmp_path: Path, name: str, *, suffix: str) -> Path:
    """The pinned cell opened up, and each protected test that now fails given a second
    definition `if { true }` in the same package - in an extra file of the upload. Rego ORs
    the definitions of a rule, so the version's own suite passes."""
    target = policy_copy(tmp_path, name)
    set_cell(target, *PINNED_CELL, "social_work_needs")
    failing = _failing_after(target)
    assert failing, "the pinned cell must make a protected test fail"
    for index, (package, names) in enumerate(sorted(failing.items())):
        rules = "".join(f"{n} if {{ true }}\n\n" for n in names)
        (target / f"shadow{index}{suffix}").write_text(
            f"package {package}\n\nimport rego.v1\n\n{rules}"
        )
    return target


def _drop_rule(path: Path, name: str) -> None:
    text = path.read_text()
    pattern = re.compile(rf"^{name} if \{{\n.*?^\}}\n", re.DOTALL | re.MULTILINE)
    assert pattern.search(text), name
    path.write_text(pattern.sub("", text, count=1))


def deletes_a_test(tmp_path: Path) -> Path:
    target = candidate(tmp_path, "deletes-a-test")
    _drop_rule(
        target / "disclosure_test.rego", "test_housing_sees_other_life_domains_as_summary_only"
    )
    return target


def deletes_a_file(tmp_path: Path) -> Path:
    target = candidate(tmp_path, "deletes-a-file")
    (target / "publish_test.rego").unlink()
    return target


def weakens_a_test(tmp_path: Path) -> Path:
    """The expectation loosened so it still passes: no test is missing, one is weaker."""
    target = candidate(tmp_path, "weakens-a-test")
    path = target / "disclosure_test.rego"
    text = path.read_text()
    assert '\td.nuisance.level == "summary"\n' in text
    path.write_text(
        text.replace('\td.nuisance.level == "summary"\n', '\td.nuisance.level != "none"\n', 1)
    )
    return target


def shadows_in_a_test_file(tmp_path: Path) -> Path:
    return _shadowed(tmp_path, "shadows-in-a-test", suffix="_test.rego")


def shadows_in_a_policy_module(tmp_path: Path) -> Path:
    return _shadowed(tmp_path, "shadows-in-a-module", suffix=".rego")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (deletes_a_test, "it changes protected test files: disclosure_test.rego"),
        (deletes_a_file, "it deletes protected test files: publish_test.rego"),
        (weakens_a_test, "it changes protected test files: disclosure_test.rego"),
        (shadows_in_a_test_file, "protected tests fail against it"),
        (shadows_in_a_policy_module, "its policy modules write into protected test packages"),
        (incident_bundle, "fewer than the active version's"),
    ],
    ids=lambda v: getattr(v, "__name__", "") or None,
)
def test_a_version_that_deletes_or_weakens_a_protected_test_cannot_be_approved(
    shipped: str, make: object, problem: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    assert callable(make)
    settings = hub.settings
    policy_dir: Path = make(tmp_path)
    loaded = ok(upload(officer(http, settings, "fg-gemeente"), bundle_of(policy_dir)), 201)
    version = loaded["version"]
    assert loaded["status"] == "inactive" and loaded["checks"]["passed"] is False
    assert any(problem in p for p in loaded["checks"]["problems"]), loaded["checks"]["problems"]
    for who in ("fg-politie", "fg-ggz"):
        refused = approval(officer(http, settings, who), version, NO_DIGEST)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["type"].endswith("/approval-refused")
        assert any(problem in p for p in body["problems"])
    assert status_of(http, settings, version) == {
        **status_of(http, settings, version),
        "status": "inactive",
        "approvals": [],
    }
    assert ok(officer(http, settings, "fg-om").get("/api/v1/policies"))["active"] == shipped
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert len(denied) == 2


def test_the_shadowing_versions_own_tests_pass(tmp_path: Path) -> None:
    """Why the protected suite runs on its own: in the upload's own run the shadows make the
    protected tests the changed cell breaks pass."""
    assert run_policy_tests(shadows_in_a_test_file(tmp_path)).passed
    assert run_policy_tests(shadows_in_a_policy_module(tmp_path)).passed


# -- the digest an approval quotes -----------------------------------------------------------------


def test_an_approval_on_the_diff_against_a_version_no_longer_active_is_refused_and_stops_counting(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    first = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path, "first"))
    other_dir = policy_copy(tmp_path, "second")
    set_cell(other_dir, "youth", "housing", "execution", "execution", "social_work_needs")
    second = loaded_by(http, settings, "fg-gemeente", other_dir)
    d_first = digest_for(http, settings, first)
    d_second = digest_for(http, settings, second)
    assert d_first != d_second
    # the police approves the second version on its diff against the shipped one
    ok(approval(officer(http, settings, "fg-politie"), second, d_second), 201)
    # meanwhile the first version is activated
    ok(approval(officer(http, settings, "fg-politie"), first, d_first), 201)
    assert ok(approval(officer(http, settings, "fg-ggz"), first, d_first), 201)["activated"]

    # a digest of the diff against the retired version is stale: 409, nothing recorded
    stale = approval(officer(http, settings, "fg-om"), second, d_second)
    assert stale.status_code == 409 and stale.json()["type"].endswith("/stale-diff")
    seen = status_of(http, settings, second)
    assert [a["partner"] for a in seen["approvals"]] == ["politie"]  # type: ignore[index]
    assert seen["approvals_counted"] == []  # the police's approval was on the old diff

    # on the new diff, one new approval is not enough: the police must approve again
    fresh = digest_for(http, settings, second)
    assert fresh not in (d_first, d_second)
    one = ok(approval(officer(http, settings, "fg-om"), second, fresh), 201)
    assert one["activated"] is False and one["policy"]["approvals_counted"] == ["om"]
    two = ok(approval(officer(http, settings, "fg-politie"), second, fresh), 201)
    assert two["activated"] is True
    assert {(a["partner"], a["against"]) for a in two["policy"]["approvals"]} == {
        ("om", first),
        ("politie", first),
    }
    reasons = [e.reason for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert reasons == ["refused: the digest is not that of the diff against the active version"]


# -- the quorum is the network's -------------------------------------------------------------------


@pytest.fixture
def three_partners_any_kind(db_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    """The demo network with [policy_approval] approvals = 3, key_partners_only = false."""
    network = tmp_path / "network.toml"
    text = (PROJECT_ROOT / "network" / "demo.toml").read_text()
    text, count = re.subn(
        r"\[policy_approval\]\napprovals = 2\nkey_partners_only = true\n",
        "[policy_approval]\napprovals = 3\nkey_partners_only = false\n",
        text,
    )
    assert count == 1
    network.write_text(text)
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, network_file=network)
    initialise(settings)
    with RunningHub(settings) as running:
        yield running


def test_the_quorum_comes_from_the_network_file(
    three_partners_any_kind: RunningHub, tmp_path: Path
) -> None:
    hub = three_partners_any_kind
    settings = hub.settings
    with hub.client() as http:
        version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
        digest = digest_for(http, settings, version)
        first = ok(approval(officer(http, settings, "fg-woning"), version, digest), 201)
        assert first["policy"]["quorum"] == {"approvals": 3, "key_partners_only": False}
        assert first["policy"]["approvals_needed"] == 3
        second = ok(approval(officer(http, settings, "fg-mw"), version, digest), 201)
        assert second["activated"] is False
        third = ok(approval(officer(http, settings, "fg-politie"), version, digest), 201)
        assert third["activated"] is True
        assert third["policy"]["approvals_counted"] == [
            "maatschappelijk-werk",
            "politie",
            "woningcorporatie",
        ]


def test_a_network_file_cannot_ask_for_fewer_than_two_partners(tmp_path: Path) -> None:
    from hub.identity.registry import RegistryError, load_registry

    text = (PROJECT_ROOT / "network" / "demo.toml").read_text()
    for bad in ("approvals = 1", "approvals = true", 'approvals = "2"', "quorum = 2"):
        path = tmp_path / "bad.toml"
        path.write_text(text.replace("approvals = 2", bad, 1))
        with pytest.raises(RegistryError, match="policy_approval"):
            load_registry(path)
    # more approvals than partners allowed to give them: nothing could ever activate
    path = tmp_path / "too_many.toml"
    path.write_text(text.replace("approvals = 2", "approvals = 20", 1))
    with pytest.raises(RegistryError, match="only"):
        load_registry(path)
    # absent: two key partners
    path = tmp_path / "default.toml"
    path.write_text(re.sub(r"\[policy_approval\]\n[^\[]*", "", text, count=1))
    quorum = load_registry(path).policy_approval
    assert (quorum.approvals, quorum.key_partners_only) == (2, True)


# -- changing the protected suite ------------------------------------------------------------------


def test_changing_the_protected_suite_needs_the_quorum_on_its_diff(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    fg = officer(http, settings, "fg-gemeente")
    suites = ok(fg.get("/api/v1/policies/suites"))
    (first_suite,) = suites["suites"]
    assert (first_suite["status"], first_suite["origin"]) == ("active", "shipped")
    assert sorted(f["path"] for f in first_suite["files"]) == PROTECTED

    # the proposal drops a test that pins a cell
    proposal = policy_copy(tmp_path, "proposal")
    _drop_rule(
        proposal / "disclosure_test.rego",
        "test_housing_sees_a_police_nuisance_report_as_summary_because_the_police_published_it",
    )
    loaded = ok(upload_suite(fg, bundle_of(proposal)), 201)
    suite = loaded["suite"]
    assert loaded["status"] == "inactive" and loaded["checks"]["passed"] is True
    assert loaded["checks"]["against"] == shipped
    shown = ok(
        officer(http, settings, "fg-politie").get(f"/api/v1/policies/suites/active/diff/{suite}")
    )
    assert shown["files_changed"] == ["disclosure_test.rego"]
    (change,) = shown["rules"]
    assert change["change"] == "removed" and change["test"] is True and change["new"] is None
    assert change["rule"].endswith("because_the_police_published_it")
    digest = shown["digest"]

    # the loader's partner, a non-key partner and a wrong digest do not count
    for who, status, slug in (
        ("fg-gemeente-2", 403, "four-eyes"),
        ("fg-woning", 403, "approver-not-eligible"),
    ):
        refused = suite_approval(officer(http, settings, who), suite, digest)
        assert (refused.status_code, refused.json()["type"].rsplit("/", 1)[1]) == (status, slug)
    wrong = suite_approval(officer(http, settings, "fg-ggz"), suite, NO_DIGEST)
    assert wrong.status_code == 409 and wrong.json()["type"].endswith("/stale-diff")

    first = ok(suite_approval(officer(http, settings, "fg-politie"), suite, digest), 201)
    assert first["activated"] is False
    again = ok(suite_approval(officer_of(http, settings, "politie", "po-9"), suite, digest), 200)
    assert again["activated"] is False
    done = ok(suite_approval(officer(http, settings, "fg-ggz"), suite, digest), 201)
    assert done["activated"] is True and done["suite"]["status"] == "active"
    listing = ok(fg.get("/api/v1/policies/suites"))
    assert listing["active"] == suite
    assert {s["suite"]: s["status"] for s in listing["suites"]} == {
        suite: "active",
        first_suite["suite"]: "retired",
    }
    activation = [e for e in log_entries(settings, "policy.activate") if suite in e.object_ids]
    assert len(activation) == 1 and "ggz/fg-ggz" in activation[0].reason

    # a suite that fails against the active policy cannot be approved
    failing = policy_copy(tmp_path, "failing-suite")
    path = failing / "disclosure_test.rego"
    path.write_text(path.read_text().replace('"full"', '"existence"', 1))
    bad = ok(upload_suite(fg, bundle_of(failing)), 201)
    assert bad["checks"]["passed"] is False and bad["checks"]["failed"]
    bad_digest = suite_digest(fg, bad["suite"])
    refused = suite_approval(officer(http, settings, "fg-om"), bad["suite"], bad_digest)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/approval-refused")


def test_a_suite_upload_without_tests_is_refused_and_never_echoed(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    no_tests = tmp_path / "no-tests"
    no_tests.mkdir()
    (no_tests / "x.rego").write_text("package vhhub.x\n\nimport rego.v1\n\ny := 1\n")
    secret = "Jansen-BSN-123456782"
    unparsable = tmp_path / "unparsable"
    unparsable.mkdir()
    (unparsable / "x_test.rego").write_text(f"package vhhub.x_test\n\ntest_{secret} if {{ ((( }}\n")
    for directory in (no_tests, unparsable):
        response = upload_suite(fg, bundle_of(directory))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert secret not in response.text
    assert len(ok(fg.get("/api/v1/policies/suites"))["suites"]) == 1


def test_a_suite_kept_in_one_subdirectory_reads_back_as_stored() -> None:
    """The hub's canonical bundles are read without stripping a common directory: a network
    that keeps its protected tests in tests/ must not find its suite unusable."""
    files = tuple(
        PolicyFile(f"tests/{name}_test.rego", f"package vhhub.{name}_test\n\ntest_x := true\n")
        for name in ("a", "b")
    )
    suite = ProtectedSuite.of(files)
    assert suite_from_bundle(suite.suite, pack_files(suite.files)) == suite
