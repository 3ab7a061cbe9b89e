"""A policy change from upload to briefing, over real HTTP: the diff predicts, the hub obeys.

A privacy officer of the municipality copies policies/ and changes ONE matrix cell (at the
multi-problem table, in the case conference, a housing corporation gets the social-work
profile instead of its own). The network's protected tests pin that cell, so first the
protected suite changes: the pinning tests are dropped, and privacy officers of two other
key partners (police and GGZ) approve that on the suite diff they were shown. Then the new
version is uploaded with a test of its new promise in a file of its own, the hub shows its
diff, and the same two partners approve it with the diff's digest. Then the role play's case
is briefed again: the housing corporation's briefing changes exactly as the diff said, every
other briefing stays as it was, a second hub process on the same database serves the new
version too, and a restart keeps it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.rego.bundle import policy_version
from hub.setup import initialise
from hub.vocabulary import DisclosureLevel
from tests.conftest import RunningHub
from tests.e2e.test_role_play import (
    FACTS,
    PARTNERS,
    briefing_facts,
    expected_fields,
    run_scenario,
)
from tests.policy_review.conftest import (
    POLICIES,
    add_test,
    approval,
    bundle_of,
    drop_failing_tests,
    log_entries,
    officer,
    policy_copy,
    set_cell,
    suite_approval,
    upload,
    upload_suite,
)
from tests.support import As, ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CELL = ("multi_problem", "housing", "case_conference", "case_conference")
HOUSING = "woningcorporatie"
NEW_PROMISE = """
test_housing_sees_social_network_in_full_at_the_multi_problem_conference if {
	d := conference("woonstede", "multi_problem")
	d.social_work.level == "full"
	d.nuisance.level == "summary"
	d.income.level == "full"
}
"""


def changed_policy(tmp_path: Path) -> tuple[Path, bytes]:
    """policies/ with ONE matrix cell changed and its tests adjusted as the README asks; and
    the protected suite without the tests that pinned the old cell (a bundle of its tests)."""
    target = policy_copy(tmp_path)
    set_cell(target, *CELL, "social_work_needs")
    assert drop_failing_tests(target)  # the shipped tests pinned the old cell
    suite = bundle_of(target)  # its _test.rego files: the shipped ones minus the pinning tests
    add_test(target, NEW_PROMISE)  # in a file of its own
    return target, suite


def conference_briefings(hub: RunningHub, case_id: str) -> dict[str, dict[str, Any]]:
    with hub.client() as http:
        return {
            partner: ok(
                As(http, hub.settings, partner, f"{partner}-user", roles, "case_conference").get(
                    f"/api/v1/cases/{case_id}/briefing"
                )
            )
            for partner, roles in PARTNERS.items()
        }


def predicted_level(
    diff: dict[str, Any], viewer_kind: str, type_id: str, domain: str, variant: str
) -> str | None:
    """The new level the diff announces for this fact of this viewer, or None."""
    table, _, phase, purpose = CELL
    for change in diff["changes"]:
        if (change["table"], change["phase"], change["purpose"], change["viewer"]) != (
            table,
            phase,
            purpose,
            viewer_kind,
        ):
            continue
        if change["domain"] != domain or variant not in change["variants"]:
            continue
        if type_id in {t["type"] for t in change["fact_types"]}:
            return str(change["new_level"])
    return None


def test_briefings_change_exactly_as_the_diff_said_after_two_approvals(
    hub: RunningHub, tmp_path: Path
) -> None:
    settings = hub.settings
    shipped = policy_version(POLICIES)
    changed_dir, suite_bundle = changed_policy(tmp_path)
    new_version = policy_version(changed_dir)

    # the case of the role play, briefed under the shipped version
    scenario = run_scenario(hub)
    case_id, ids = scenario["case"], scenario["ids"]
    before = scenario["conference"]
    assert {b["policy_version"] for b in before.values()} == {shipped}

    # a second replica on the same database, started before anything changes
    with RunningHub(settings) as replica, hub.client() as http:
        http.timeout = 300
        loader = officer(http, settings, "fg-gemeente")
        police, ggz = officer(http, settings, "fg-politie"), officer(http, settings, "fg-ggz")

        # the protected tests pin the cell: the version cannot be approved as things stand
        pinned = ok(upload(loader, bundle_of(changed_dir)), 201)
        assert pinned["tests_passed"] is True and pinned["checks"]["passed"] is False
        assert pinned["checks"]["protected"]["changed"] == ["disclosure_test.rego"]

        # so the protected suite changes first: four eyes of two other key partners
        proposal = ok(upload_suite(loader, suite_bundle), 201)
        suite = proposal["suite"]
        assert proposal["checks"]["passed"] is True  # the shipped policy passes it too
        suite_diff = ok(police.get(f"/api/v1/policies/suites/active/diff/{suite}"))
        assert {r["change"] for r in suite_diff["rules"]} == {"removed"}
        assert suite_approval(loader, suite, suite_diff["digest"]).status_code == 403
        ok(suite_approval(police, suite, suite_diff["digest"]), 201)
        assert ok(suite_approval(ggz, suite, suite_diff["digest"]), 201)["activated"] is True

        # against the new protected suite, the version now passes every check
        loaded = ok(loader.get(f"/api/v1/policies/{new_version}"))
        assert (loaded["version"], loaded["status"], loaded["tests_passed"]) == (
            new_version,
            "inactive",
            True,
        )

        diff = ok(loader.get(f"/api/v1/policies/active/diff/{new_version}"))
        digest = diff["digest"]
        assert diff["old"] == shipped and diff["new"] == new_version
        # exactly the one cell's consequences: one table, phase, purpose and viewer
        assert diff["changes"], "changing a cell must change decisions"
        assert {(c["table"], c["phase"], c["purpose"], c["viewer"]) for c in diff["changes"]} == {
            ("multi_problem", "case_conference", "case_conference", "housing")
        }
        # housing_needs (full: housing, finances, safety) -> social_work_needs (full: social
        # network, finances, family relations); finances stays full; criminal-law data stays
        # at summary whatever the profile says (AVG art. 10)
        moved = {(c["domain"], c["old_level"], c["new_level"]) for c in diff["changes"]}
        assert moved == {
            ("housing", "full", "summary"),
            ("safety", "full", "summary"),
            ("social_network", "summary", "full"),
            ("family_relations", "summary", "full"),
        }
        assert all("own" not in c["variants"] for c in diff["changes"])
        types = {t["type"] for c in diff["changes"] for t in c["fact_types"]}
        assert "police.incident/1" not in types
        prefix = "Tafel multi_problem, fase case_conference, Woningcorporatie (housing): "
        assert any(
            c["text"].startswith(prefix)
            and (
                "(social_network) van summary naar full" in c["text"]  # per fact type
                or c["text"].startswith(prefix + "social_network van summary naar full")
            )
            for c in diff["changes"]
        )

        # four eyes of two key partners other than the loader's, on the diff they were shown
        assert upload(loader, bundle_of(changed_dir)).status_code == 409
        assert approval(loader, new_version, digest).status_code == 403
        first = ok(approval(police, new_version, digest), 201)
        assert first["activated"] is False
        assert conference_briefings(hub, case_id)[HOUSING]["policy_version"] == shipped
        second = ok(approval(ggz, new_version, digest), 201)
        assert second["activated"] is True and second["policy"]["status"] == "active"
        assert second["policy"]["checks"] == {
            **second["policy"]["checks"],
            "passed": True,
            "against": shipped,
            "suite": suite,
        }

        after = conference_briefings(hub, case_id)
        by_id = {v: k for k, v in ids.items()}
        announced_changes: set[str] = set()
        for viewer, briefing in after.items():
            assert briefing["policy_version"] == new_version
            old_facts = briefing_facts(before[viewer])
            for fact_id, fact in briefing_facts(briefing).items():
                key = by_id[fact_id]
                publisher, type_id = FACTS[key]
                variant = "own" if publisher == viewer else "plain"
                announced = (
                    predicted_level(diff, "housing", type_id, fact["life_domain"], variant)
                    if viewer == HOUSING
                    else None
                )
                level = announced or old_facts[fact_id]["level"]
                if level != old_facts[fact_id]["level"]:
                    announced_changes.add(key)
                assert fact["level"] == level, (viewer, key)
                assert set(fact["fields"]) == expected_fields(
                    viewer, key, DisclosureLevel(level)
                ), (viewer, key)
        changed = {
            by_id[i]
            for i, f in briefing_facts(after[HOUSING]).items()
            if f["level"] != briefing_facts(before[HOUSING])[i]["level"]
        }
        # the social-work fact (social network: summary -> full), and whatever else the diff
        # announced for this case's facts (the safety domain: full -> summary)
        assert "social_work" in changed and changed == announced_changes
        for viewer in PARTNERS:
            if viewer != HOUSING:
                assert {i: f["level"] for i, f in briefing_facts(after[viewer]).items()} == {
                    i: f["level"] for i, f in briefing_facts(before[viewer]).items()
                }

        # the replica follows the activation on its next request
        with replica.client() as other:
            housing = As(other, settings, HOUSING, "w-user", PARTNERS[HOUSING], "case_conference")
            seen = ok(housing.get(f"/api/v1/cases/{case_id}/briefing"))
            assert seen["policy_version"] == new_version
            assert briefing_facts(seen)[ids["nuisance"]]["level"] == "summary"

    # every act was logged with the version hash
    loads = [e for e in log_entries(settings, "policy.load") if new_version in e.object_ids]
    assert [e.outcome for e in loads] == ["allowed", "denied"]  # the second upload: 409
    suite_acts = [e for e in log_entries(settings, "policy.activate") if suite in e.object_ids]
    assert len(suite_acts) == 1 and "protected test suite" in suite_acts[0].reason
    approvals = [
        e
        for e in log_entries(settings, "policy.approve")
        if new_version in e.object_ids and e.outcome == "allowed"
    ]
    activations = [
        e for e in log_entries(settings, "policy.activate") if e.policy_version == new_version
    ]
    assert {e.actor_user for e in loads} == {"fg-gemeente"}
    assert {(e.actor_partner, e.actor_user) for e in approvals} == {
        ("politie", "fg-politie"),
        ("ggz", "fg-ggz"),
    }
    assert len(activations) == 1 and activations[0].object_ids == sorted([new_version, shipped])

    # a restart (and a repeated init) keeps the approved version
    assert any("kept" in line and new_version[:12] in line for line in initialise(settings).lines())
    with RunningHub(settings) as restarted, restarted.client() as http:
        ctx = restarted.context
        assert ctx.gate.version == new_version
        housing = As(http, settings, HOUSING, "w-user", PARTNERS[HOUSING], "case_conference")
        assert ok(housing.get(f"/api/v1/cases/{case_id}/briefing"))["policy_version"] == new_version
