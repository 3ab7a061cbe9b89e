"""The pseudonyms a read entry names per fact (`fact_subjects`, ADR 0403) come from one joined
query since ADR 0020; they must stay exactly what the two-step definition gives: the index
values of the subjects a fact concerns, every subject of the case for a fact about the whole
case, and none -- not everyone -- for a fact whose subjects have no index values left."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select

from hub.cases.models import SubjectIndex
from hub.context import HubContext
from hub.facts.models import Fact
from hub.facts.subjects import fact_pseudonyms, pseudonyms_of_subjects, subject_ids_by_fact
from tests.cases.test_workflow import actor, log_rows
from tests.conftest import RunningHub
from tests.facts.test_publish_api import body, household_case, pseudonyms_of
from tests.support import ok


def _two_step(ctx: HubContext, cid: str) -> dict[str, tuple[str, ...]]:
    """The definition, spelled out with the module's per-step queries."""
    with ctx.unit_of_work() as session:
        ids = list(session.scalars(select(Fact.id).where(Fact.case_id == cid)))
        linked = subject_ids_by_fact(session, ids)
        names = pseudonyms_of_subjects(session, {s for v in linked.values() for s in v})
        everyone = tuple(
            sorted(
                set(session.scalars(select(SubjectIndex.value).where(SubjectIndex.case_id == cid)))
            )
        )
        return {
            i: tuple(sorted({p for s in linked[i] for p in names[s]})) if i in linked else everyone
            for i in ids
        }


def test_each_fact_names_exactly_its_subjects_also_when_one_has_no_index_values(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, subjects = household_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    nuisance = "police.nuisance_report/1"
    facts = [
        body(nuisance, "father") | {"subject_ids": [subjects["father"]]},
        body(nuisance, "parents") | {"subject_ids": [subjects["mother"], subjects["father"]]},
        body(nuisance, "child") | {"subject_ids": [subjects["child"]]},
        body(nuisance, "child-and-mother")
        | {"subject_ids": [subjects["child"], subjects["mother"]]},
        body(nuisance, "all"),
    ]
    out = ok(police.post(f"/api/v1/cases/{cid}/fact-batches", json={"facts": facts}), 201)
    by_key = {f["idempotency_key"]: f["id"] for f in out["facts"]}
    father, mother = pseudonyms_of(hub.settings, "father"), pseudonyms_of(hub.settings, "mother")
    everyone = pseudonyms_of(hub.settings, "father", "mother", "child")

    ctx = HubContext.open(hub.settings)
    try:
        with ctx.unit_of_work() as session:
            stored = list(session.scalars(select(Fact).where(Fact.case_id == cid)))
            named = fact_pseudonyms(session, stored)
        assert named == _two_step(ctx, cid)
        assert {k: set(named[i]) for k, i in by_key.items()} == {
            "father": father,
            "parents": father | mother,
            "child": pseudonyms_of(hub.settings, "child"),
            "child-and-mother": pseudonyms_of(hub.settings, "child", "mother"),
            "all": everyone,
        }
        assert all(list(v) == sorted(v) for v in named.values())

        # the child's index values are gone (as a shredding of that subject would leave it):
        # a fact about the child alone names nobody rather than the whole case
        with ctx.unit_of_work() as session:
            session.execute(
                delete(SubjectIndex).where(SubjectIndex.subject_id == subjects["child"])
            )
        with ctx.unit_of_work() as session:
            stored = list(session.scalars(select(Fact).where(Fact.case_id == cid)))
            named = fact_pseudonyms(session, stored)
        assert named == _two_step(ctx, cid)
        assert named[by_key["child"]] == ()
        assert set(named[by_key["child-and-mother"]]) == mother
        assert set(named[by_key["all"]]) == father | mother
    finally:
        ctx.close()

    # the briefing's entry names the same, per disclosed fact
    ok(
        actor(http, hub.settings, "woningcorporatie", "preparation").get(
            f"/api/v1/cases/{cid}/briefing"
        )
    )
    [entry] = log_rows(hub.settings, action="briefing.read")
    assert entry.disclosed and set(entry.fact_subjects) == set(entry.disclosed)
    expected = {i: set(v) for i, v in named.items()}
    assert {i: set(v) for i, v in entry.fact_subjects.items()} == {
        i: expected[i] for i in entry.disclosed
    }
