"""Retention crypto-shreds a case once its deadline has passed: nobody can decrypt it any
more, the API says so (410), screening forgets its people, and the access log keeps every
entry and still verifies (docs/adr/0006-retention.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from hub.cases.errors import CaseShredded
from hub.cases.models import Case, Subject
from hub.context import HubContext
from hub.crypto.envelope import WrappedKey
from hub.crypto.errors import KeyNotFound
from hub.disclosure.rotation import rotate
from hub.facts.models import Fact
from hub.gate.permits import FactPermit, PlanPermit, _mint
from hub.retention.cli import retention_app
from hub.retention.service import RetentionError, run_retention, set_legal_hold
from hub.settings import Settings
from hub.vocabulary import DisclosureLevel
from tests.conftest import RunningHub
from tests.disclosure.scenario import (
    World,
    assert_log_verifies,
    case_in_preparation,
    data_files,
    example,
    execute,
    log_actions,
    log_size,
    log_snapshot,
    rows,
    scalar,
)
from tests.support import As, ok

pytestmark = pytest.mark.e2e

SUBJECT = {"role_in_case": "parent", "bsn": "111222333", "name": "Jan Modaal"}
AFTER_TWO_YEARS = timedelta(days=731)


def _later(delta: timedelta) -> datetime:
    return datetime.now(UTC) + delta


def _closed_case(http: Any, settings: Settings) -> World:
    world = case_in_preparation(http, settings, subject=dict(SUBJECT, date_of_birth="1980-02-03"))
    world.publish_incident("i1", description="Melding op de galerij")
    world.publish_arrears("a1")
    world.close()
    return world


def _count(settings: Settings, table: str, case_id: str) -> int:
    return int(scalar(settings, f"SELECT count(*) FROM {table} WHERE case_id = :c", c=case_id))


def _state(settings: Settings) -> dict[str, Any]:
    """Everything retention could touch, to show a dry run touched none of it."""
    return {
        "cases": rows(
            settings, "SELECT id, status, legal_hold, shredded_at FROM cases ORDER BY id"
        ),
        "case_keys": rows(settings, "SELECT case_id, wrapped FROM case_keys ORDER BY case_id"),
        "subject_index": rows(
            settings, "SELECT subject_id, kind, value FROM subject_index ORDER BY subject_id, kind"
        ),
        "log_size": log_size(settings),
    }


def _assert_gone(response: Any) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "https://vhhub.nl/problems/case-shredded"
    assert "crypto-shredded" in problem["detail"] and "vernietigd" in problem["detail"]


def test_shredded_case_answers_410_and_nothing_of_it_decrypts(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        world = _closed_case(http, initialised)
        cid = world.case_id
        (wrapped,) = rows(initialised, "SELECT wrapped FROM case_keys WHERE case_id = :c", c=cid)
        pseudonyms = sorted(
            v
            for (v,) in rows(
                initialised, "SELECT value FROM subject_index WHERE case_id = :c", c=cid
            )
        )
        assert len(pseudonyms) == 2  # bsn and name + date of birth
        log_before = log_snapshot(initialised)

        report = run_retention(operator, now=_later(AFTER_TWO_YEARS))

        assert report.shredded == (cid,) and not report.held
        for who in (world.police, world.housing, world.zvh):
            _assert_gone(who.get(f"/api/v1/cases/{cid}/briefing"))
            _assert_gone(who.get(f"/api/v1/cases/{cid}"))
            _assert_gone(who.get(f"/api/v1/cases/{cid}/updates"))
        fact = {
            "idempotency_key": "late",
            "type": "police.incident/1",
            "legal_basis": "wpg_art_19",
            "content": example("police.incident.1"),
        }
        _assert_gone(world.police.post(f"/api/v1/cases/{cid}/facts", json=fact))

    assert _count(initialised, "case_keys", cid) == 0
    assert _count(initialised, "subject_index", cid) == 0
    status, shredded_at = rows(
        initialised, "SELECT status, shredded_at FROM cases WHERE id = :c", c=cid
    )[0]
    assert status == "shredded" and shredded_at is not None

    # no ciphertext of the case opens, whatever permit one brings: even one forged with the
    # gate's private mint (only the gate may call it in hub/) finds no key to open with
    with operator.db.transaction() as session:
        facts = session.scalars(select(Fact).where(Fact.case_id == cid)).all()
        assert len(facts) == 2 and all(f.content_ct for f in facts)
        for fact in facts:
            forged = _mint(
                FactPermit,
                case_id=cid,
                fact_id=fact.id,
                level=DisclosureLevel.FULL,
                fields=tuple(operator.catalog.get(fact.fact_type).fields),
                reason="test",
                rule="test",
                policy_version="test",
            )
            with pytest.raises(CaseShredded):
                operator.vault.open_fact(session, fact, forged)
        subjects = session.scalars(select(Subject).where(Subject.case_id == cid)).all()
        assert subjects and all(s.identifiers_ct for s in subjects)
        plan = _mint(PlanPermit, case_id=cid, policy_version="test")
        for subject in subjects:
            assert subject.identifiers_ct
            with pytest.raises(CaseShredded):
                operator.vault.open_document(
                    session,
                    case_id=cid,
                    record="subject",
                    row_id=subject.id,
                    schema_id="subject.identifiers/1",
                    ciphertext=subject.identifiers_ct,
                    permit=plan,
                )

    # the access log: every earlier row unchanged, two new entries, and it verifies
    after = log_snapshot(initialised)
    assert after[: len(log_before)] == log_before
    new = [
        (r["action"], r["case_id"], r["reason"], r["subject_pseudonyms"])
        for r in after[len(log_before) :]
    ]
    assert new[:2] == [
        ("case.shred", cid, "retention deadline passed", pseudonyms),
        ("retention.run", None, "retention run: 1 shredded, 0 on legal hold, 0 skipped", []),
    ]
    # and each 410 above is a logged refusal, naming the case and no subject
    assert new[2:] == [("case.read", cid, "case shredded", [])] * 10
    assert_log_verifies(initialised)

    if initialised.effective_database_url.startswith("sqlite"):
        # secure_delete + a truncating checkpoint: the wrapped key left the file and the WAL
        assert report.wal_truncated is True
        storage = b"".join(p.read_bytes() for p in data_files(initialised))
        assert bytes(wrapped[0]) not in storage


def _problem(response: Any) -> dict[str, Any]:
    return {k: v for k, v in response.json().items() if k != "instance"}


def test_only_who_stood_in_a_shredded_case_learns_that_it_was_shredded(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    """ADR 0009: an outsider gets the logged 404 of an unknown id, also for a shredded
    case; a member of the case and an auditor (the policy's see_shredded) get the 410."""
    with hub.client() as http:
        world = _closed_case(http, initialised)
        cid = world.case_id
        assert run_retention(operator, now=_later(AFTER_TWO_YEARS)).shredded == (cid,)
        unknown = str(uuid.uuid4())
        outsiders = [
            As(http, initialised, "ggz", "ggz-1", ["participant", "publisher"], "preparation"),
            # a colleague at the case's own Veiligheidshuis who was not its procesregisseur
            As(http, initialised, "zvh", "pr-2", ["procesregisseur"], "preparation"),
            As(http, initialised, "politie", "fg-1", ["privacy_officer"], "audit"),
        ]
        for who in outsiders:
            for path in ("", "/briefing", "/updates"):
                since = log_size(initialised)
                shredded = who.get(f"/api/v1/cases/{cid}{path}")
                missing = who.get(f"/api/v1/cases/{unknown}{path}")
                assert shredded.status_code == missing.status_code == 404, (who.user, path)
                assert _problem(shredded) == _problem(missing)
                assert shredded.headers["content-type"] == missing.headers["content-type"]
                entries = log_actions(initialised, since)
                assert [(a, o) for _, a, o, *_ in entries] == [
                    ("case.denied", "denied"),
                    ("case.denied", "denied"),
                ], (who.user, path)
                assert entries[0][3] == cid  # the auditor sees which case was probed
        auditor = As(http, initialised, "zvh", "aud-1", ["auditor"], "audit")
        for who in (world.police, world.housing, world.zvh, auditor):
            since = log_size(initialised)
            _assert_gone(who.get(f"/api/v1/cases/{cid}"))
            [entry] = log_actions(initialised, since)
            assert entry[1:4] == ("case.read", "denied", cid) and entry[5] == "case shredded"


def test_rotation_after_shredding_makes_old_copies_of_the_key_useless(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    """A backup taken before the shred still holds the wrapped key; retiring the KEK that
    wrapped it is what makes that copy worthless (ADR 0006, "Remnants")."""
    with hub.client() as http:
        world = _closed_case(http, initialised)
    (backup,) = rows(
        initialised, "SELECT wrapped FROM case_keys WHERE case_id = :c", c=world.case_id
    )
    copy = WrappedKey.from_bytes(bytes(backup[0]))
    operator.keys.unwrap_data_key(copy, case_id=world.case_id)  # the copy works before ...

    run_retention(operator, now=_later(AFTER_TWO_YEARS))
    rotate(operator, settle_s=0)

    with pytest.raises(KeyNotFound):  # ... and not after
        operator.keys.unwrap_data_key(copy, case_id=world.case_id)


def test_screening_no_longer_finds_the_people_of_a_shredded_case(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        _closed_case(http, initialised)
        police = As(http, initialised, "politie", "agent-2", ["publisher", "participant"], "intake")
        zvh = As(http, initialised, "zvh", "pr-1", ["procesregisseur"], "intake")

        body = {
            "kind": "person",
            "proposed_table": "multi_problem",
            "reason": "Nieuwe aanmelding",
            "subjects": [{"role_in_case": "resident", "bsn": SUBJECT["bsn"]}],
        }
        new = ok(police.post("/api/v1/cases", json=body), 201)["id"]
        ok(zvh.post(f"/api/v1/cases/{new}/procesregie"))
        ok(zvh.post(f"/api/v1/cases/{new}/phase-changes", json={"to": "screening"}))
        screener = zvh.with_purpose("screening")

        def known() -> bool:
            out = ok(screener.post(f"/api/v1/cases/{new}/screenings", json={}))
            return bool(out["results"][0]["known"])

        assert known()  # the closed case's facts on this person
        run_retention(operator, now=_later(AFTER_TWO_YEARS))
        assert not known()


def test_legal_hold_prevents_shredding_until_released(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        world = _closed_case(http, initialised)
    cid = world.case_id
    log_before = log_size(initialised)

    held = set_legal_hold(operator, cid, hold=True)
    report = run_retention(operator, now=_later(AFTER_TWO_YEARS))

    assert held.changed and held.legal_hold
    assert report.shredded == () and [c.case_id for c in report.held] == [cid]
    assert _count(initialised, "case_keys", cid) == 1
    assert _count(initialised, "subject_index", cid) == 2
    assert scalar(initialised, "SELECT status FROM cases WHERE id = :c", c=cid) == "closed"
    assert not set_legal_hold(operator, cid, hold=True).changed  # idempotent, not logged again

    set_legal_hold(operator, cid, hold=False)
    report = run_retention(operator, now=_later(AFTER_TWO_YEARS))

    assert report.shredded == (cid,)
    entries = [(e[1], e[3], e[5]) for e in log_actions(initialised, since=log_before)]
    assert entries == [
        ("retention.run", cid, "legal hold set"),
        ("retention.run", None, "retention run: 0 shredded, 1 on legal hold, 0 skipped"),
        ("retention.run", cid, "legal hold released"),
        ("case.shred", cid, "retention deadline passed"),
        ("retention.run", None, "retention run: 1 shredded, 0 on legal hold, 0 skipped"),
    ]
    with pytest.raises(RetentionError, match="already shredded"):
        set_legal_hold(operator, cid, hold=True)


def test_dry_run_lists_what_is_due_and_changes_nothing(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        world = _closed_case(http, initialised)
    before = _state(initialised)

    report = run_retention(operator, dry_run=True, now=_later(AFTER_TWO_YEARS))

    assert report.dry_run and [c.case_id for c in report.due] == [world.case_id]
    assert report.shredded == ()
    assert _state(initialised) == before


def test_case_is_kept_until_its_deadline(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        world = _closed_case(http, initialised)
    with operator.db.transaction() as session:
        case = session.get(Case, world.case_id)
        assert case is not None and case.closed_at and case.retention_until
        assert case.retention_until - case.closed_at == timedelta(days=730)  # the default

    report = run_retention(operator, now=_later(timedelta(days=729)))

    assert report.due == () and report.shredded == ()
    assert _count(initialised, "case_keys", world.case_id) == 1


def test_rejected_case_is_shredded_28_days_after_triage(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    with hub.client() as http:
        police = As(http, initialised, "politie", "agent-1", ["publisher", "participant"], "intake")
        zvh = As(http, initialised, "zvh", "pr-1", ["procesregisseur"], "intake")
        body = {
            "kind": "person",
            "proposed_table": "multi_problem",
            "reason": "Geen complexe problematiek",
            "subjects": [{"role_in_case": "resident", "bsn": "123456782"}],
        }
        cid = ok(police.post("/api/v1/cases", json=body), 201)["id"]
        ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
        criteria = {
            "multiple_life_domains": False,
            "criminal_or_nuisance_behaviour": True,
            "multiple_chains_needed": False,
            "impact_on_system_or_environment": False,
        }
        triage = {"criteria": criteria, "decision": "reject", "reason_code": "regular_care"}
        out = ok(zvh.with_purpose("screening").post(f"/api/v1/cases/{cid}/triage", json=triage))
        assert out["status"] == "rejected"

    assert run_retention(operator, now=_later(timedelta(days=27))).shredded == ()
    assert run_retention(operator, now=_later(timedelta(days=29))).shredded == (cid,)


# -- the command line ------------------------------------------------------------------------


def _vhhub() -> typer.Typer:
    """`retention_app` mounted the way hub/cli.py mounts it."""
    app = typer.Typer()
    app.add_typer(retention_app, name="retention")
    return app


@pytest.fixture
def cli_env(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    return initialised


def test_retention_commands_list_hold_release_and_shred(hub: RunningHub, cli_env: Settings) -> None:
    with hub.client() as http:
        world = _closed_case(http, cli_env)
    cid = world.case_id
    # make the case due now, as two years would
    execute(
        cli_env,
        "UPDATE cases SET retention_until = :t WHERE id = :c",
        t=datetime.now(UTC) - timedelta(days=1),
        c=cid,
    )
    runner = CliRunner()
    app = _vhhub()

    dry = runner.invoke(app, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "nothing changed" in dry.output and "would shred 1 case(s)" in dry.output
    assert cid in dry.output

    hold = runner.invoke(app, ["retention", "hold", cid])
    assert hold.exit_code == 0 and f"case {cid} is on legal hold" in hold.output
    held_run = runner.invoke(app, ["retention", "run"])
    assert "shredded 0 case(s)" in held_run.output and "1 case(s) on legal hold" in held_run.output

    release = runner.invoke(app, ["retention", "release", cid])
    assert release.exit_code == 0 and "not on legal hold" in release.output
    real = runner.invoke(app, ["retention", "run"])
    assert real.exit_code == 0, real.output
    assert "shredded 1 case(s)" in real.output and cid in real.output
    assert "vhhub keys rotate" in real.output

    unknown = runner.invoke(app, ["retention", "hold", "00000000-0000-0000-0000-000000000000"])
    assert unknown.exit_code == 1 and "no case with this id" in unknown.output
