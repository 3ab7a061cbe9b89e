"""Management information (issue 16 item 7, ADR 0014), over real HTTP and the command line:
counts per table, phase, intake partner kind, month and outcome, and lead times from the
phase history; no case ids and no personal data; counts below 5 suppressed, with
complementary suppression; who may read; the log entry of every read."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, update
from typer.testing import CliRunner

from hub.cases.models import Case, CasePhaseHistory
from hub.cases.notices import dutch_today
from hub.cases.statistics import ZONE, lead_time, percentile, suppress
from hub.cli import app
from hub.settings import Settings
from tests.cases.test_subject_notices import assert_problem
from tests.cases.test_workflow import CRITERIA, actor, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import As, ok

BSNS = [
    "111222333",
    "123456782",
    "100000009",
    "100000010",
    "100000022",
    "100000034",
    "100000046",
    "100000058",
    "100000071",
]


def zvh(http: httpx.Client, hub: RunningHub, purpose: str = "screening") -> As:
    return actor(http, hub.settings, "zvh", purpose, ["procesregisseur"], "pr-1")


def reader(http: httpx.Client, hub: RunningHub) -> As:
    return actor(http, hub.settings, "zvh", "management_information", ["procesregisseur"], "pr-1")


def triaged(http: httpx.Client, hub: RunningHub, bsn: str, table: str) -> str:
    cid = str(new_case(http, hub.settings, bsn=bsn, to="screening")["id"])
    body = {"criteria": CRITERIA, "decision": "accept", "table": table}
    ok(zvh(http, hub).post(f"/api/v1/cases/{cid}/triage", json=body))
    return cid


#: the period asked for: from the Dutch day the test began to today
AskedPeriod = Callable[[], dict[str, str]]


@pytest.fixture
def since_start() -> AskedPeriod:
    """The period from the Dutch day the test began (before it registers a case) to today,
    read at each call: it holds every case the test registers, also when the run passes
    midnight in Amsterdam (a period of today only would then miss the earlier ones)."""
    first = dutch_today().isoformat()
    return lambda: {"from": first, "to": dutch_today().isoformat()}


def registration_months(hub: RunningHub, ids: list[str], period: dict[str, str]) -> dict[str, Any]:
    """The per_month cells the cases should give over `period`: each case's Dutch
    registration day (from the database) must lie in the period; counted per month of the
    period (at most the two its ends fall in: a test runs for less than a month), and
    suppressed as every breakdown is (so six cases of one month: {that month: 6})."""
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with engine.connect() as conn:
            registered = conn.scalars(select(Case.registered_at).where(Case.id.in_(ids))).all()
    finally:
        engine.dispose()
    first, last = date.fromisoformat(period["from"]), date.fromisoformat(period["to"])
    days = [moment.astimezone(ZONE).date() for moment in registered]
    assert len(days) == len(ids) and all(first <= day <= last for day in days), days
    per_month = Counter(day.strftime("%Y-%m") for day in days)
    months = sorted({first.strftime("%Y-%m"), last.strftime("%Y-%m")})
    return {
        c.key: c.count if c.count is not None else c.marker
        for c in suppress([(m, per_month[m]) for m in months])
    }


def cells(out: dict[str, Any], section: str) -> dict[str, Any]:
    return {c["key"]: c["count"] if c["count"] is not None else c["marker"] for c in out[section]}


def test_small_counts_are_suppressed_and_no_ids_leave(
    http: httpx.Client, hub: RunningHub, since_start: AskedPeriod
) -> None:
    ids = [triaged(http, hub, bsn, "multi_problem") for bsn in BSNS[:6]]
    stats = reader(http, hub)
    period = since_start()
    out = ok(stats.get("/api/v1/statistics", params=period))
    assert out["registered"] == {"key": "total", "count": 6, "marker": None}
    assert cells(out, "per_table")["multi_problem"] == 6
    assert cells(out, "per_table")["youth"] == 0  # no case is no person
    assert cells(out, "per_phase")["screening"] == 6
    assert cells(out, "per_intake_partner_kind")["police"] == 6
    assert cells(out, "per_month") == registration_months(hub, ids, period)

    ids += [triaged(http, hub, bsn, "youth") for bsn in BSNS[6:9]]
    response = stats.get("/api/v1/statistics", params=since_start())
    out = ok(response)
    assert out["registered"]["count"] == 9
    table = cells(out, "per_table")
    assert table["youth"] == "<5"
    # 9 - 3 = 6 would give the youth count away: the smallest other count is suppressed too
    assert table["multi_problem"] == "<5"
    assert next(c for c in out["per_table"] if c["key"] == "youth")["count"] is None
    assert cells(out, "per_phase")["screening"] == 9
    # nothing in the answer names a case, a subject or a user
    text = response.text
    assert not any(cid in text for cid in ids)
    assert not any(bsn in text for bsn in BSNS)
    assert "pr-1" not in text and "politie-user" not in text


def test_the_read_is_logged_with_its_purpose_and_period_and_no_case_ids(
    http: httpx.Client, hub: RunningHub, since_start: AskedPeriod
) -> None:
    triaged(http, hub, BSNS[0], "adults")
    period = since_start()
    ok(reader(http, hub).get("/api/v1/statistics", params=period))
    [entry] = log_rows(hub.settings, action="statistics.read")
    assert entry.outcome == "allowed" and entry.purpose == "management_information"
    assert entry.reason == f"statistics {period['from']}..{period['to']}"
    assert entry.case_id is None and entry.object_ids == [] and entry.subject_pseudonyms == []
    assert entry.actor_partner == "zvh"


def backdate(hub: RunningHub, cid: str, **days: float) -> None:
    """Put the case's phase history (and triage) `days` after its registration."""
    start = datetime.now(UTC) - timedelta(days=60)
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(CasePhaseHistory)
                .where(CasePhaseHistory.case_id == cid, CasePhaseHistory.phase == "intake")
                .values(entered_at=start)
            )
            for phase, n in days.items():
                if phase == "triage":
                    conn.execute(
                        update(Case)
                        .where(Case.id == cid)
                        .values(triaged_at=start + timedelta(days=n))
                    )
                    continue
                conn.execute(
                    update(CasePhaseHistory)
                    .where(CasePhaseHistory.case_id == cid, CasePhaseHistory.phase == phase)
                    .values(entered_at=start + timedelta(days=n))
                )
    finally:
        engine.dispose()


def test_lead_times_come_from_the_phase_history(
    http: httpx.Client, hub: RunningHub, since_start: AskedPeriod
) -> None:
    closing = [1.0, 2.0, 3.0, 4.0, 10.0]
    ids = []
    for bsn, close_after in zip(BSNS[:5], closing, strict=True):
        cid = triaged(http, hub, bsn, "adults")
        ok(zvh(http, hub).post(f"/api/v1/cases/{cid}/closure", json={"outcome": "handed_back"}))
        backdate(hub, cid, triage=close_after / 2, closed=close_after)
        ids.append(cid)
    # one more case, rejected at triage with a rare code
    rejected = str(new_case(http, hub.settings, bsn=BSNS[5], to="screening")["id"])
    ok(
        zvh(http, hub).post(
            f"/api/v1/cases/{rejected}/triage",
            json={"criteria": CRITERIA, "decision": "reject", "reason_code": "rare_reason"},
        )
    )
    backdate(hub, rejected, triage=7.0, closed=7.0)
    out = ok(reader(http, hub).get("/api/v1/statistics", params=since_start()))
    times = {lt["step"]: lt for lt in out["lead_times"]}
    # closing: 1, 2, 3, 4, 7, 10 days -> median 3.5, p90 (nearest rank 6 of 6) 10
    assert times["closed"] == {
        "step": "closed",
        "cases": 6,
        "median_days": 3.5,
        "p90_days": 10.0,
        "marker": None,
    }
    # triage: 0.5, 1, 1.5, 2, 5, 7 -> median 1.75 (1.8 rounded), p90 7
    assert times["triage"]["cases"] == 6 and times["triage"]["p90_days"] == 7.0
    assert times["triage"]["median_days"] == pytest.approx(1.8)
    # nobody reached the case conference
    assert times["case_conference"]["cases"] == 0
    assert times["case_conference"]["median_days"] is None
    # outcomes: the frequent code is listed, the rare one only inside "other" (suppressed,
    # and so is the code next to it: 6 - 5 would give it away)
    assert [c["key"] for c in out["outcomes"]] == ["handed_back", "other"]
    assert "rare_reason" not in json.dumps(out)
    assert cells(out, "outcomes") == {"handed_back": "<5", "other": "<5"}
    assert cells(out, "per_phase")["closed"] == 6


def test_a_lead_time_of_fewer_than_five_cases_is_suppressed() -> None:
    assert lead_time("closed", [1.0, 2.0, 3.0, 4.0]).model_dump() == {
        "step": "closed",
        "cases": None,
        "median_days": None,
        "p90_days": None,
        "marker": "<5",
    }
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0


def test_complementary_suppression() -> None:
    def shown(counts: list[tuple[str, int]]) -> list[int | None]:
        return [c.count for c in suppress(counts)]

    assert shown([("a", 6), ("b", 0), ("c", 7)]) == [6, 0, 7]
    # one small cell: the smallest other count goes too
    assert shown([("a", 3), ("b", 6), ("c", 7)]) == [None, None, 7]
    # two small cells that together hold fewer than five: one more
    assert shown([("a", 1), ("b", 1), ("c", 8), ("d", 9)]) == [None, None, None, 9]
    # two small cells holding five or more: enough
    assert shown([("a", 4), ("b", 2), ("c", 8)]) == [None, None, 8]
    # zeros are never used to hide a cell
    assert shown([("a", 3), ("b", 0), ("c", 0)]) == [None, 0, 0]


def test_who_may_read_the_statistics(http: httpx.Client, hub: RunningHub) -> None:
    s = hub.settings
    for partner, roles in [("gemeente-wi", ["auditor"]), ("politie", ["privacy_officer"])]:
        who = actor(http, s, partner, "management_information", roles, "u-1")
        ok(who.get("/api/v1/statistics"))
    participant = actor(http, s, "politie", "management_information")
    assert_problem(participant.get("/api/v1/statistics"), 403)
    wrong_purpose = actor(http, s, "zvh", "audit", ["procesregisseur"], "pr-1")
    assert_problem(wrong_purpose.get("/api/v1/statistics"), 403)
    stats = reader(http, hub)
    assert_problem(
        stats.get("/api/v1/statistics", params={"from": "2026-12-31", "to": "2026-01-01"}),
        400,
        "invalid-period",
    )
    assert_problem(stats.get("/api/v1/statistics", params={"from": "2001-01-01"}), 400)
    assert_problem(stats.get("/api/v1/statistics", params={"from": "gisteren"}), 400)
    denied = log_rows(hub.settings, action="statistics.read", outcome="denied")
    assert [d.actor_partner for d in denied] == ["politie", "zvh"]
    allowed = log_rows(hub.settings, action="statistics.read", outcome="allowed")
    assert [a.actor_partner for a in allowed] == ["gemeente-wi", "politie"]


@pytest.fixture
def cli_env(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    return initialised


def test_vhhub_stats_prints_the_same_counts_and_is_logged(
    http: httpx.Client, hub: RunningHub, cli_env: Settings, since_start: AskedPeriod
) -> None:
    ids = [triaged(http, hub, bsn, "adults") for bsn in BSNS[:5]]
    runner = CliRunner()
    period = since_start()
    result = runner.invoke(app, ["stats", "--from", period["from"], "--to", period["to"]])
    assert result.exit_code == 0, result.output
    assert "Casussen per tafel" in result.output
    assert any(line.split() == ["adults", "5"] for line in result.output.splitlines())
    assert not any(cid in result.output for cid in ids)
    as_json = runner.invoke(app, ["stats", "--from", period["from"], "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["registered"]["count"] == 5
    for bad in (["--from", "morgen"], ["--from", "2026-12-31", "--to", "2026-01-01"]):
        refused = runner.invoke(app, ["stats", *bad])
        assert refused.exit_code == 2, refused.output
    entries = log_rows(cli_env, action="statistics.read")
    assert [(e.actor_user, e.purpose) for e in entries] == [
        ("operator-cli", "management_information")
    ] * 2
