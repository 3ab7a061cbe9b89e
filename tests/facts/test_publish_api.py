"""Publishing through the API: validated, minimised by the policy, idempotent, all or nothing,
corrected and withdrawn with history kept."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, func, select

from hub.context import HubContext
from hub.facts.models import Fact, FactSubject
from hub.receipts.models import FactReceipt
from hub.settings import Settings
from tests.cases.test_workflow import CRITERIA, actor, example, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import ok, statements_sent

MARKER = "Pietje-Puk-0612345678"


def fact_count(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Fact)) or 0)
    finally:
        engine.dispose()


def body(fact_type: str, key: str, **content: object) -> dict[str, object]:
    return {
        "idempotency_key": key,
        "type": fact_type,
        "legal_basis": "convenant_zvh",
        "content": {**example(fact_type), **content},
    }


def test_a_partner_kind_may_not_publish_another_kinds_fact_type(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    response = housing.post(
        f"/api/v1/cases/{case['id']}/facts", json=body("police.incident/1", "forged-1")
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fact_count(hub.settings) == 0
    [denied] = log_rows(hub.settings, action="fact.publish_denied")
    assert denied.actor_partner == "woningcorporatie" and denied.outcome == "denied"


def test_invalid_content_names_pointers_and_never_echoes_values(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    bad = body("police.nuisance_report/1", "bad-1")
    bad["content"] = {**example("police.nuisance_report/1"), "report_date": MARKER, MARKER: MARKER}
    response = police.post(f"/api/v1/cases/{case['id']}/facts", json=bad)
    assert response.status_code == 400
    assert MARKER not in response.text
    pointers = [e["pointer"] for e in response.json()["errors"]]
    assert pointers and all(p.startswith("/content") for p in pointers)
    assert fact_count(hub.settings) == 0


def test_a_batch_is_all_or_nothing_and_at_most_500(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    facts = [body("police.nuisance_report/1", f"b-{n}") for n in range(20)]
    facts[13]["content"] = {"report_date": "not a date"}
    response = police.post(f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": facts})
    assert response.status_code == 400
    assert all(e["pointer"].startswith("/facts/13/") for e in response.json()["errors"])
    assert fact_count(hub.settings) == 0
    too_many = [body("police.nuisance_report/1", f"m-{n}") for n in range(501)]
    assert (
        police.post(
            f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": too_many}
        ).status_code
        == 400
    )
    facts[13] = body("police.nuisance_report/1", "b-13")
    published = ok(
        police.post(f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": facts}), 201
    )
    assert len(published["facts"]) == 20 and fact_count(hub.settings) == 20
    [entry] = log_rows(hub.settings, action="fact.publish")
    assert sorted(entry.object_ids) == sorted(f["id"] for f in published["facts"])


def test_a_publish_only_writes_under_the_log_lock_its_rows_links_and_receipts(
    http: httpx.Client, hub: RunningHub
) -> None:
    """Every writer waits for the log head's lock, so a publish reads what it needs before it
    (ADR 0020, sections 18 and 19): under the lock it only writes -- the entry, then the
    facts, their subject links and their receipts, which name the entry's position. The
    receipts' signer reads the locked head, which the unit of work keeps: dropped, it was
    read again under the lock. Whatever the path, every row is there."""
    case = new_case(http, hub.settings)
    subject = case["subjects"][0]["id"]
    police = actor(http, hub.settings, "politie", "preparation")
    facts = [
        body("police.nuisance_report/1", f"l-{n}") | {"subject_ids": [subject]} for n in range(3)
    ]
    context = hub.context
    with statements_sent(context.db.engine) as sent:
        published = ok(
            police.post(f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": facts}), 201
        )
    ids = sorted(f["id"] for f in published["facts"])
    with context.db.engine.connect() as conn:
        stored = conn.execute(select(Fact.id, Fact.change_seq).order_by(Fact.id)).all()
        linked = conn.execute(select(FactSubject.fact_id, FactSubject.subject_id)).all()
        receipts = conn.execute(select(FactReceipt.fact_id, FactReceipt.seq)).all()
    [entry] = log_rows(hub.settings, action="fact.publish")
    assert [i for i, _ in stored] == ids and {s for _, s in stored} == {entry.seq}
    assert sorted(linked) == [(i, subject) for i in ids]
    assert sorted(receipts) == [(i, entry.seq) for i in ids]
    if context.db.dialect == "postgresql":
        [writer] = {conn for conn, statement in sent if "INSERT INTO facts" in statement}
        mine = [statement for conn, statement in sent if conn == writer]
        locked = next(i for i, statement in enumerate(mine) if "FOR UPDATE" in statement)
        under_lock = [s.split()[0] for s in mine[locked + 1 :]]
        # the log's one statement, the three inserts, the savepoint's release
        assert under_lock == ["WITH", "INSERT", "INSERT", "INSERT", "RELEASE"], [
            s[:160] for s in mine[locked + 1 :]
        ]


def test_a_retried_publish_creates_nothing_twice(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    fact = body("police.nuisance_report/1", "retry-1")
    first = ok(police.post(f"/api/v1/cases/{case['id']}/facts", json=fact), 201)
    second = ok(police.post(f"/api/v1/cases/{case['id']}/facts", json=fact), 200)
    assert first["facts"][0]["id"] == second["facts"][0]["id"]
    assert (first["facts"][0]["created"], second["facts"][0]["created"]) == (True, False)
    assert fact_count(hub.settings) == 1
    other = body("police.incident/1", "retry-1")
    assert police.post(f"/api/v1/cases/{case['id']}/facts", json=other).status_code == 409


def test_a_retry_answers_200_with_the_stored_result_and_the_first_publish_201(
    http: httpx.Client, hub: RunningHub
) -> None:
    """201 means "created": a retry that creates nothing answers 200 with what the first
    request stored, for one fact and for a batch; a batch with one new fact is a 201."""
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    single = f"/api/v1/cases/{case['id']}/facts"
    batch = f"/api/v1/cases/{case['id']}/fact-batches"
    fact = body("police.nuisance_report/1", "replay-1")

    first = police.post(single, json=fact)
    assert first.status_code == 201, first.text
    entries = log_rows(hub.settings)
    retry = police.post(single, json=fact)
    assert retry.status_code == 200, retry.text
    assert retry.json()["facts"] == [
        first.json()["facts"][0] | {"created": False, "receipt_salt": None}
    ]
    # the retry is logged as before: no second publish entry, nothing else either
    assert len(log_rows(hub.settings)) == len(entries)
    assert len(log_rows(hub.settings, action="fact.publish")) == 1

    others = [body("police.nuisance_report/1", f"replay-b-{n}") for n in range(3)]
    created = police.post(batch, json={"facts": others})
    assert created.status_code == 201, created.text
    replayed = police.post(batch, json={"facts": [fact, *others]})
    assert replayed.status_code == 200, replayed.text
    assert [f["created"] for f in replayed.json()["facts"]] == [False] * 4
    grown = police.post(batch, json={"facts": [fact, body("police.nuisance_report/1", "new")]})
    assert grown.status_code == 201, grown.text
    assert [f["created"] for f in grown.json()["facts"]] == [False, True]
    assert fact_count(hub.settings) == 5


def test_corrections_and_withdrawals_keep_history_and_only_the_publisher_may(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    fact_id = ok(
        police.post(
            f"/api/v1/cases/{case['id']}/facts", json=body("police.nuisance_report/1", "h-1")
        ),
        201,
    )["facts"][0]["id"]
    content = example("police.nuisance_report/1")
    assert (
        housing.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}).status_code
        == 404
    )
    corrected = ok(
        police.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}), 201
    )
    assert corrected["version"] == 2
    assert (
        police.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}).status_code
        == 409
    )
    ok(
        police.post(
            f"/api/v1/facts/{corrected['id']}/withdrawal",
            json={"reason_code": "published_in_error"},
        )
    )
    briefing = ok(housing.get(f"/api/v1/cases/{case['id']}/briefing"))
    assert briefing["domains"] == []
    assert fact_count(hub.settings) == 2  # both versions kept
    actions = [r.action for r in log_rows(hub.settings, case_id=case["id"])]
    assert {"fact.publish", "fact.correct", "fact.withdraw"} <= set(actions)


def test_a_user_without_the_publisher_role_cannot_withdraw_the_organisations_facts(
    http: httpx.Client, hub: RunningHub
) -> None:
    """A withdrawal takes a fact from every reader: like a correction it is the publisher
    role's, decided by the policy and logged; any other user of the publishing partner is
    refused, and the fact stays where it was."""
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    fact_id = ok(
        police.post(
            f"/api/v1/cases/{case['id']}/facts", json=body("police.nuisance_report/1", "w-1")
        ),
        201,
    )["facts"][0]["id"]
    officer = actor(http, hub.settings, "politie", "preparation", ["participant"], "wijkagent-2")
    refused = officer.post(
        f"/api/v1/facts/{fact_id}/withdrawal", json={"reason_code": "published_in_error"}
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    shown = ok(housing.get(f"/api/v1/cases/{case['id']}/briefing"))
    assert [f["id"] for d in shown["domains"] for f in d["facts"]] == [fact_id]
    [denied] = [
        r for r in log_rows(hub.settings, case_id=case["id"]) if r.actor_user == "wijkagent-2"
    ]
    assert (denied.action, denied.outcome) == ("fact.publish_denied", "denied")
    assert not [r for r in log_rows(hub.settings, action="fact.withdraw")]

    ok(
        police.post(
            f"/api/v1/facts/{fact_id}/withdrawal", json={"reason_code": "published_in_error"}
        )
    )
    [withdrawn] = log_rows(hub.settings, action="fact.withdraw")
    assert withdrawn.policy_version == denied.policy_version
    assert ok(housing.get(f"/api/v1/cases/{case['id']}/briefing"))["domains"] == []


def test_a_fact_id_that_cannot_be_one_is_answered_as_an_unknown_id(
    http: httpx.Client, hub: RunningHub
) -> None:
    """A NUL byte, an over-long id or odd characters in the path get what an unknown id
    gets -- the same 404 and the same logged denial -- and never a 500 (PostgreSQL refuses
    a NUL byte in text with an error)."""
    police = actor(http, hub.settings, "politie", "preparation")
    content = {"content": example("police.nuisance_report/1")}
    answers = set()
    for fact_id in ("00000000-0000-4000-8000-000000000000", "a%00b", "x" * 37, "a%20b"):
        before = len(log_rows(hub.settings, action="fact.publish_denied"))
        for path, body in (("corrections", content), ("withdrawal", {"reason_code": "x"})):
            answer = police.post(f"/api/v1/facts/{fact_id}/{path}", json=body)
            answers.add((answer.status_code, answer.json()["type"]))
        assert len(log_rows(hub.settings, action="fact.publish_denied")) == before + 2, fact_id
    assert answers == {(404, "https://vhhub.nl/problems/not-found")}


# -- which subjects a fact concerns (issue 14 item 6, ADR 0403) ----------------------------------

FAMILY = {"father": "123456782", "mother": "111222333", "child": "100000009"}


def household_case(http: httpx.Client, settings: Settings) -> tuple[str, dict[str, str]]:
    """A family case of three in preparation: (case id, role -> subject id)."""
    police = actor(http, settings, "politie", "intake")
    case = ok(
        police.post(
            "/api/v1/cases",
            json={
                "kind": "family",
                "proposed_table": "multi_problem",
                "reason": "overlast",
                "subjects": [{"role_in_case": r, "bsn": b} for r, b in FAMILY.items()],
            },
        ),
        201,
    )
    cid = case["id"]
    zvh = actor(http, settings, "zvh", "intake", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
    zvh = zvh.with_purpose("screening")
    ok(zvh.post(f"/api/v1/cases/{cid}/triage", json={"criteria": CRITERIA, "decision": "accept"}))
    ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": "woningcorporatie"}))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))
    return cid, {s["role_in_case"]: s["id"] for s in case["subjects"]}


def pseudonyms_of(settings: Settings, *roles: str) -> set[str]:
    ctx = HubContext.open(settings)
    try:
        indexer = ctx.keys.blind_indexer()
        return {indexer.bsn(FAMILY[r]) for r in roles}
    finally:
        ctx.close()


def links(settings: Settings) -> set[tuple[str, str]]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return {
                (r[0], r[1])
                for r in conn.execute(select(FactSubject.fact_id, FactSubject.subject_id))
            }
    finally:
        engine.dispose()


def test_a_fact_concerns_one_several_or_all_subjects_and_the_log_says_so_per_fact(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, subjects = household_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    nuisance = "police.nuisance_report/1"
    facts = [
        body(nuisance, "one") | {"subject_ids": [subjects["father"]]},
        body(nuisance, "two") | {"subject_ids": [subjects["mother"], subjects["father"]]},
        body(nuisance, "all"),
        body(nuisance, "empty") | {"subject_ids": []},
        body(nuisance, "old") | {"subject_id": subjects["child"]},
    ]
    out = ok(police.post(f"/api/v1/cases/{cid}/fact-batches", json={"facts": facts}), 201)
    by_key = {f["idempotency_key"]: f for f in out["facts"]}
    assert by_key["one"]["subject_ids"] == [subjects["father"]]
    assert by_key["two"]["subject_ids"] == sorted([subjects["mother"], subjects["father"]])
    assert by_key["all"]["subject_ids"] == by_key["empty"]["subject_ids"] == []
    assert by_key["old"]["subject_ids"] == [subjects["child"]]
    assert links(hub.settings) == {
        (by_key["one"]["id"], subjects["father"]),
        (by_key["two"]["id"], subjects["father"]),
        (by_key["two"]["id"], subjects["mother"]),
        (by_key["old"]["id"], subjects["child"]),
    }
    # the publish entry names, per fact, exactly the pseudonyms of the subjects it concerns
    [entry] = log_rows(hub.settings, action="fact.publish")
    everyone = pseudonyms_of(hub.settings, "father", "mother", "child")
    expected = {
        "one": pseudonyms_of(hub.settings, "father"),
        "two": pseudonyms_of(hub.settings, "father", "mother"),
        "all": everyone,
        "empty": everyone,
        "old": pseudonyms_of(hub.settings, "child"),
    }
    assert {k: set(entry.fact_subjects[f["id"]]) for k, f in by_key.items()} == expected
    assert set(entry.subject_pseudonyms) == everyone

    # a retry with the same key and subjects creates nothing; with other subjects it is refused
    again = ok(police.post(f"/api/v1/cases/{cid}/facts", json=facts[1]), 200)["facts"][0]
    assert (again["id"], again["created"]) == (by_key["two"]["id"], False)
    assert again["subject_ids"] == by_key["two"]["subject_ids"]
    other = facts[1] | {"subject_ids": [subjects["mother"]]}
    conflict = police.post(f"/api/v1/cases/{cid}/facts", json=other)
    assert conflict.status_code == 409

    # a correction keeps the subjects; a withdrawal names them in the log too
    content = example(nuisance)
    fixed = ok(
        police.post(f"/api/v1/facts/{by_key['one']['id']}/corrections", json={"content": content}),
        201,
    )
    assert fixed["subject_ids"] == [subjects["father"]]
    ok(police.post(f"/api/v1/facts/{fixed['id']}/withdrawal", json={"reason_code": "test"}))
    [correct] = log_rows(hub.settings, action="fact.correct")
    [withdraw] = log_rows(hub.settings, action="fact.withdraw")
    father = pseudonyms_of(hub.settings, "father")
    assert {k: set(v) for k, v in correct.fact_subjects.items()} == {
        by_key["one"]["id"]: father,
        fixed["id"]: father,
    }
    assert {k: set(v) for k, v in withdraw.fact_subjects.items()} == {fixed["id"]: father}
    assert set(withdraw.subject_pseudonyms) == father

    # a briefing entry says, per disclosed fact, whom it concerns
    ok(
        actor(http, hub.settings, "woningcorporatie", "preparation").get(
            f"/api/v1/cases/{cid}/briefing"
        )
    )
    [briefing] = log_rows(hub.settings, action="briefing.read")
    assert set(briefing.fact_subjects) == set(briefing.disclosed)
    if by_key["two"]["id"] in briefing.disclosed:
        assert set(briefing.fact_subjects[by_key["two"]["id"]]) == expected["two"]


def test_bad_subject_lists_are_refused_and_store_nothing(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, subjects = household_case(http, hub.settings)
    other_case = new_case(http, hub.settings, bsn="100000010")
    stranger = other_case["subjects"][0]["id"]
    police = actor(http, hub.settings, "politie", "preparation")
    nuisance = "police.nuisance_report/1"
    before = len(log_rows(hub.settings))
    bad = {
        "both fields": body(nuisance, "b1")
        | {"subject_id": subjects["father"], "subject_ids": [subjects["father"]]},
        "twice": body(nuisance, "b2") | {"subject_ids": [subjects["father"], subjects["father"]]},
        "other case": body(nuisance, "b3") | {"subject_ids": [subjects["father"], stranger]},
        "unknown": body(nuisance, "b4") | {"subject_ids": ["00000000-0000-0000-0000-000000000000"]},
        "not an id": body(nuisance, "b5") | {"subject_ids": ["<script>"]},
        "too many": body(nuisance, "b6") | {"subject_ids": [subjects["father"]] * 21},
        "not a list": body(nuisance, "b7") | {"subject_ids": subjects["father"]},
    }
    for what, fact in bad.items():
        response = police.post(f"/api/v1/cases/{cid}/facts", json=fact)
        assert response.status_code == 400, (what, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), what
        assert stranger not in response.text and "<script>" not in response.text, what
    batch = [body(nuisance, "ok-1"), bad["other case"]]
    response = police.post(f"/api/v1/cases/{cid}/fact-batches", json={"facts": batch})
    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-fact-subjects")
    assert fact_count(hub.settings) == 0 and links(hub.settings) == set()
    assert not log_rows(hub.settings, action="fact.publish")
    assert len(log_rows(hub.settings)) == before


def test_the_openapi_document_describes_subject_ids(http: httpx.Client) -> None:
    schema = ok(http.get("/api/v1/openapi.json"))["components"]["schemas"]["FactIn"]
    props = schema["properties"]
    assert "whole case" in props["subject_ids"]["description"]
    assert props["subject_ids"]["anyOf"][0]["maxItems"] == 20
    assert props["subject_id"]["deprecated"] is True
    assert "subject_ids" in props["subject_id"]["description"]
    published = ok(http.get("/api/v1/openapi.json"))["components"]["schemas"]["PublishedFact"]
    assert "subject_ids" in published["properties"]


# -- corrections are not named by growing the publisher's key (issue 15) ------------------------


def test_a_fact_with_a_long_or_uuid_key_can_be_corrected_again_and_again(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    content = example("police.nuisance_report/1")
    long_key = "k" * 128  # the longest key a publisher may choose
    uuid_key = "6f1c2a4e-3b7d-4c8e-9a0f-1d2e3f4a5b6c"
    ids = {}
    for key in (long_key, uuid_key):
        published = ok(
            police.post(
                f"/api/v1/cases/{case['id']}/facts", json=body("police.nuisance_report/1", key)
            ),
            201,
        )
        ids[key] = published["facts"][0]["id"]
    # the first correction of a 128-character key answered 500 (its `#v2` was cut off)
    for version in (2, 3):
        corrected = ok(
            police.post(f"/api/v1/facts/{ids[long_key]}/corrections", json={"content": content}),
            201,
        )
        assert (corrected["version"], corrected["idempotency_key"]) == (version, long_key)
        ids[long_key] = corrected["id"]
    # with a UUID key the 26th correction reached 128 characters and answered 500
    for version in range(2, 31):
        corrected = ok(
            police.post(f"/api/v1/facts/{ids[uuid_key]}/corrections", json={"content": content}),
            201,
        )
        assert (corrected["version"], corrected["idempotency_key"]) == (version, uuid_key)
        ids[uuid_key] = corrected["id"]
    withdrawn = ok(
        police.post(
            f"/api/v1/facts/{ids[uuid_key]}/withdrawal",
            json={"reason_code": "published_in_error"},
        )
    )
    assert (withdrawn["version"], withdrawn["idempotency_key"]) == (30, uuid_key)
    # a retried publish with the original key still answers with what it created
    retried = ok(
        police.post(
            f"/api/v1/cases/{case['id']}/facts", json=body("police.nuisance_report/1", uuid_key)
        ),
        200,
    )["facts"][0]
    assert (retried["version"], retried["created"]) == (1, False)
    assert fact_count(hub.settings) == 3 + 30
