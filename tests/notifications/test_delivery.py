"""Notifications over real HTTP, end to end: a partner subscribes through the API, a change
commits its outbox row, the deliverer (run as a separate worker, the way
`vhhub notifications deliver` runs) POSTs a signed CloudEvent to a real receiver on loopback
that fails, is slow and comes back; the policy is asked again at every attempt.
On SQLite and PostgreSQL (VHHUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import InvalidSignature
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select

from hub.context import HubContext, delivery_settings
from hub.logging import configure_logging
from hub.notifications.deliverer import Deliverer, RunStats
from hub.notifications.models import Delivery, OutboxEvent
from hub.notifications.wire import COVERED_COMPONENTS, SIGNATURE_TAG
from hub.settings import PROJECT_ROOT, Settings
from tests.cases.test_workflow import actor, log_rows, new_case, publish
from tests.conftest import RunningHub
from tests.notifications.conftest import Received, Receiver
from tests.support import As, ok

FACTS = "nl.vhhub.case.facts-released"
PHASE = "nl.vhhub.case.phase-changed"
INVITATION = "nl.vhhub.case.invitation"
MEETING = "nl.vhhub.case.meeting"
ALL_TYPES = [FACTS, PHASE, INVITATION, MEETING, "nl.vhhub.case.intervention-due"]


# -- helpers -----------------------------------------------------------------------------------


@contextmanager
def deliverer_context(settings: Settings) -> Iterator[HubContext]:
    """A deliverer as a worker process runs it: its own context on the same database."""
    ctx = HubContext.open(settings)
    try:
        yield ctx
    finally:
        ctx.close()


def deliver(settings: Settings) -> RunStats:
    with deliverer_context(settings) as ctx:
        return ctx.deliverer.run_until_idle()


def deliver_until(settings: Settings, done: Any, timeout_s: float = 20) -> None:
    """Run the deliverer until `done()` (retries wait for their backoff between runs)."""
    deadline = time.monotonic() + timeout_s
    with deliverer_context(settings) as ctx:
        while not done():
            assert time.monotonic() < deadline, "deliveries did not settle"
            ctx.deliverer.run_once()
            time.sleep(0.05)


def subscribe(
    http: httpx.Client,
    settings: Settings,
    receiver: Receiver,
    partner: str,
    types: list[str],
    **extra: Any,
) -> dict[str, Any]:
    who = actor(http, settings, partner, "preparation")
    body = {"callback_url": receiver.url(partner), "types": types, **extra}
    return ok(who.post("/api/v1/subscriptions", json=body), 201)  # type: ignore[no-any-return]


def deliveries(settings: Settings) -> list[Delivery]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(Delivery).order_by(Delivery.created_at)).all())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def withdraw(http: httpx.Client, settings: Settings, cid: str, partner: str) -> None:
    zvh = actor(http, settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    participant = next(
        p for p in ok(zvh.get(f"/api/v1/cases/{cid}"))["participants"] if p["partner"] == partner
    )
    ok(zvh.delete(f"/api/v1/cases/{cid}/participants/{participant['id']}"))


class _Resolver(HTTPSignatureKeyResolver):
    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        return self.keys[key_id]


def published_keys(http: httpx.Client) -> dict[str, Ed25519PublicKey]:
    """The hub's notification keys, as a partner fetches them: public, no token."""
    response = http.get("/api/v1/notifications/keys")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    keys = {}
    for jwk in response.json()["keys"]:
        assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


class _Msg:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.method = "POST"
        self.url = url
        self.headers = headers


def verify(received: Received, url: str, keys: dict[str, Ed25519PublicKey]) -> None:
    """Verify as a partner would: the hub's signature, over what the docs say it covers."""
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Resolver(keys)
    )
    verifier.verify(
        _Msg(url, dict(received.headers)),
        expect_tag=SIGNATURE_TAG,
        require_components=COVERED_COMPONENTS,
        body=received.body,
    )


def dead_letters_counted(kind: str) -> float:
    return REGISTRY.get_sample_value("vhhub_notification_dead_letters_total", {"type": kind}) or 0.0


# -- subscribing -------------------------------------------------------------------------------


def test_a_subscription_needs_an_allowed_callback_and_cases_the_partner_takes_part_in(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    cid = case["id"]
    housing = actor(http, settings, "woningcorporatie", "preparation")
    ggz = actor(http, settings, "ggz", "preparation")

    elsewhere = housing.post(
        "/api/v1/subscriptions",
        json={"callback_url": "https://evil.example/hook", "types": [FACTS]},
    )
    assert elsewhere.status_code == 400
    assert elsewhere.headers["content-type"].startswith("application/problem+json")
    assert elsewhere.json()["type"].endswith("/callback-not-allowed")
    # another partner's prefix on the same receiver is not this partner's
    other = housing.post(
        "/api/v1/subscriptions", json={"callback_url": receiver.url("ggz"), "types": [FACTS]}
    )
    assert other.status_code == 400
    unknown_type = housing.post(
        "/api/v1/subscriptions",
        json={"callback_url": receiver.url("woningcorporatie"), "types": ["com.example.x"]},
    )
    assert unknown_type.status_code == 400
    # not a participant of a real case, or an unknown case: the same answer
    unknown = str(uuid.uuid4())
    answers = [
        ggz.post(
            "/api/v1/subscriptions",
            json={"callback_url": receiver.url("ggz"), "types": [FACTS], "case_ids": [case_id]},
        )
        for case_id in (cid, unknown)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]
    # a partner without an allow-list in the network file cannot subscribe at all
    om = actor(http, settings, "om", "preparation")
    assert (
        om.post(
            "/api/v1/subscriptions",
            json={"callback_url": receiver.url("om"), "types": [FACTS]},
        ).status_code
        == 400
    )
    # refused, the case ids are logged alike: no entry tells the real case from the unknown id
    refused = log_rows(settings, action="subscription.create")
    assert [(r.outcome, r.case_id, r.object_ids, r.reason) for r in refused] == [
        ("denied", None, [case_id], "case_ids/0: not a case your organisation takes part in")
        for case_id in (cid, unknown)
    ]

    sub = subscribe(http, settings, receiver, "woningcorporatie", [FACTS], case_ids=[cid])
    assert sub["types"] == [FACTS] and sub["case_ids"] == [cid] and sub["last_sequence"] == 0
    listed = ok(housing.get("/api/v1/subscriptions"))["subscriptions"]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert ok(ggz.get("/api/v1/subscriptions"))["subscriptions"] == []
    # only the partner's own subscription can be ended
    assert ggz.delete(f"/api/v1/subscriptions/{sub['id']}").status_code == 404
    assert housing.delete(f"/api/v1/subscriptions/{sub['id']}").status_code == 204
    assert ok(housing.get("/api/v1/subscriptions"))["subscriptions"] == []
    [created] = [
        r for r in log_rows(settings, action="subscription.create") if r.outcome == "allowed"
    ]
    refused_end, ended = log_rows(settings, action="subscription.end")
    assert (refused_end.outcome, refused_end.actor_partner) == ("denied", "ggz")
    assert created.actor_partner == ended.actor_partner == "woningcorporatie"
    assert created.object_ids == ended.object_ids == [sub["id"]]
    # a token is needed for subscriptions, not for the public key set
    assert http.get("/api/v1/subscriptions").status_code == 401
    assert http.get("/api/v1/notifications/keys").status_code == 200


# -- what arrives --------------------------------------------------------------------------------


def test_released_facts_arrive_as_a_signed_informatiearm_cloudevent(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings, bsn="111222333")
    cid = case["id"]
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    # the publisher is not told of its own act
    subscribe(http, settings, receiver, "politie", [FACTS])
    fact_id = publish(http, settings, cid, "politie", "police.nuisance_report/1", "n-1")

    stats = deliver(settings)
    assert stats.outcomes == {"delivered": 1}
    [got] = receiver.got()
    assert got.partner == "woningcorporatie"
    assert got.headers["content-type"].startswith("application/cloudevents+json")
    event = got.json()
    assert event == {
        "specversion": "1.0",
        "id": event["id"],
        "source": settings.notification_source,
        "type": FACTS,
        "subject": cid,
        "time": event["time"],
        "sequence": "00000000000000000001",
        "dataref": f"https://vhhub.test/api/v1/cases/{cid}/updates",
    }
    uuid.UUID(event["id"])
    # informatiearm: no data, no fact id, no identifier of the person
    assert "data" not in event and "data_base64" not in event
    for secret in ("111222333", fact_id, "overlast"):
        assert secret not in got.body.decode()

    keys = published_keys(http)
    url = receiver.url("woningcorporatie")
    verify(got, url, keys)
    # a partner that checks the signature notices every change in transit
    tampered = Received(got.path, got.headers, got.body.replace(b"00000000000000000001", b"2"))
    with pytest.raises(InvalidSignature):
        verify(tampered, url, keys)
    with pytest.raises(InvalidSignature):
        verify(got, receiver.url("woningcorporatie") + "/other", keys)
    forged_headers = dict(got.headers, date="Mon, 01 Jan 2024 00:00:00 GMT")
    with pytest.raises(InvalidSignature):
        verify(Received(got.path, forged_headers, got.body), url, keys)
    # and a key other than the published one does not verify it
    stranger = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(InvalidSignature):
        verify(got, url, dict.fromkeys(keys, stranger))

    # the next event of this subscription carries the next number
    publish(http, settings, cid, "politie", "police.nuisance_report/1", "n-2")
    deliver(settings)
    assert [r.json()["sequence"] for r in receiver.got()] == [
        "00000000000000000001",
        "00000000000000000002",
    ]


def test_phase_changes_invitations_and_meetings_reach_the_partners_concerned(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    cid = case["id"]
    subscribe(http, settings, receiver, "woningcorporatie", ALL_TYPES)
    subscribe(http, settings, receiver, "ggz", ALL_TYPES)
    zvh = actor(http, settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": "ggz"}))
    deliver(settings)
    [invited] = receiver.got("ggz")
    assert invited.json()["type"] == INVITATION and invited.json()["subject"] == cid
    # an invitation is the invited partner's news only
    assert receiver.got("woningcorporatie") == []

    from tests.support import inform_all

    inform_all(zvh, cid)
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
    deliver(settings)
    for partner in ("ggz", "woningcorporatie"):
        last = receiver.got(partner)[-1].json()
        assert last["type"] == PHASE
        assert last["dataref"] == f"https://vhhub.test/api/v1/cases/{cid}"
    # every event of one subscription is numbered in order, without gaps
    ggz_sequences = [int(r.json()["sequence"]) for r in receiver.got("ggz")]
    assert ggz_sequences == [1, 2]


def outbox(settings: Settings) -> list[Any]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(OutboxEvent).order_by(OutboxEvent.created_at)).all())
    finally:
        engine.dispose()


def test_the_outbox_row_commits_with_its_change_and_only_then(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    cid = case["id"]
    before = len(outbox(settings))
    police = actor(http, settings, "politie", "preparation")
    body = {
        "idempotency_key": "n-1",
        "type": "police.nuisance_report/1",
        "legal_basis": "convenant_zvh",
        "content": json.loads(
            (PROJECT_ROOT / "schemas" / "examples" / "police.nuisance_report.1.json").read_text()
        ),
    }
    first = ok(police.post(f"/api/v1/cases/{cid}/facts", json=body), 201)
    rows = outbox(settings)[before:]
    assert [(r.kind, r.case_id, json.loads(r.object_ids)) for r in rows] == [
        ("facts-released", cid, [first["facts"][0]["id"]])
    ]
    # ids and a kind only: nothing of the content is in the row
    assert "overlast" not in repr(rows[0]).lower()
    # a retry changes nothing, so it announces nothing
    ok(police.post(f"/api/v1/cases/{cid}/facts", json=body), 200)
    # a refused publish (a fact type the housing corporation may not publish) neither
    housing = actor(http, settings, "woningcorporatie", "preparation")
    refused = housing.post(f"/api/v1/cases/{cid}/facts", json={**body, "idempotency_key": "x"})
    assert refused.status_code == 403
    # nor a phase change refused for a missing notice to the subject (409)
    zvh = actor(http, settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    moved = zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"})
    assert moved.status_code == 409
    assert len(outbox(settings)) == before + 1


# -- delivery that keeps its promises -------------------------------------------------------------


def test_a_failing_then_slow_receiver_gets_the_event_once_it_comes_back_with_the_same_id(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-1")

    with deliverer_context(settings) as ctx:
        receiver.mode = "fail"
        assert ctx.deliverer.run_once().outcomes == {"failed": 1}
        receiver.mode = "slow"
        time.sleep(0.25)  # past the backoff
        started = time.monotonic()
        assert ctx.deliverer.run_once().outcomes == {"failed": 1}
        # the hub gave up waiting at its timeout, not when the slow receiver answered
        assert time.monotonic() - started < settings.notification_timeout_s * 2.5
        [row] = deliveries(settings)
        assert row.status == "pending" and row.attempts == 2 and row.last_error == "timeout"
        # a retry waits for its backoff
        receiver.mode = "ok"
        time.sleep(0.25)
        assert ctx.deliverer.run_once().outcomes == {"delivered": 1}
        assert ctx.deliverer.run_once().outcomes == {}
    got = receiver.got()
    assert len(got) == 3  # at least once: every attempt reached the receiver
    # one event: one id and one sequence across retries, so the partner drops duplicates
    assert len({r.json()["id"] for r in got}) == 1
    assert {r.json()["sequence"] for r in got} == {"00000000000000000001"}
    [row] = deliveries(settings)
    assert row.status == "delivered" and row.attempts == 2


def test_a_dead_letter_alerts_the_operator_and_can_be_redelivered(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    from typer.testing import CliRunner

    from hub.cli import app as cli

    settings = hub.settings
    case = new_case(http, settings, bsn="111222333")
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-1")
    receiver.mode = "fail"
    before = dead_letters_counted("facts_released")
    logs = io.StringIO()
    configure_logging("INFO", stream=logs)
    deliver_until(settings, lambda: [d.status for d in deliveries(settings)] == ["dead"])
    [row] = deliveries(settings)
    assert row.attempts == settings.notification_max_attempts
    assert dead_letters_counted("facts_released") == before + 1
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    [alert] = [line for line in lines if line.get("event") == "notification_dead_letter"]
    assert alert["level"] == "error"
    assert alert["delivery_id"] == row.id and alert["partner"] == "woningcorporatie"
    assert alert["last_error"] == "http_500"
    assert "111222333" not in logs.getvalue() and case["id"] not in json.dumps(alert)
    # nothing more is attempted for a dead letter
    assert deliver(settings).outcomes == {}

    env = {
        "VHHUB_DATA_DIR": str(settings.data_dir),
        "VHHUB_DATABASE_URL": settings.effective_database_url,
        "VHHUB_NETWORK_FILE": str(settings.network_file),
    }
    runner = CliRunner()
    listed = runner.invoke(cli, ["notifications", "dead"], env=env)
    assert listed.exit_code == 0, listed.output
    assert row.id in listed.output and "http_500" in listed.output
    usage = runner.invoke(cli, ["notifications", "redeliver"], env=env)
    assert usage.exit_code == 2
    again = runner.invoke(cli, ["notifications", "redeliver", "--all-dead"], env=env)
    assert again.exit_code == 0 and "1 delivery queued again" in again.output

    receiver.mode = "ok"
    sent = runner.invoke(cli, ["notifications", "deliver", "--once"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "1 delivered" in sent.output
    ids = {r.json()["id"] for r in receiver.got()}
    assert ids == {row.id}
    assert runner.invoke(cli, ["notifications", "dead"], env=env).output.strip() == (
        "No dead letters."
    )
    # a delivered event can be sent again on a partner's request, by its id
    one = runner.invoke(cli, ["notifications", "redeliver", "--event", row.id], env=env)
    assert one.exit_code == 0
    deliver(settings)
    assert [r.json()["id"] for r in receiver.got()][-1] == row.id


# -- the policy at every attempt ----------------------------------------------------------------


def test_a_partner_withdrawn_before_delivery_or_between_retries_receives_nothing(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    first = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, first["id"], "politie", "police.nuisance_report/1", "n-1")
    # withdrawn after the change committed, before the deliverer ran
    withdraw(http, settings, first["id"], "woningcorporatie")
    assert deliver(settings).outcomes == {"withheld": 1}
    assert receiver.got() == []

    # withdrawn between a failed attempt and its retry
    second = new_case(http, settings, bsn="123456782")
    publish(http, settings, second["id"], "politie", "police.nuisance_report/1", "n-2")
    receiver.mode = "fail"
    with deliverer_context(settings) as ctx:
        assert ctx.deliverer.run_once().outcomes == {"failed": 1}
        withdraw(http, settings, second["id"], "woningcorporatie")
        receiver.mode = "ok"
        time.sleep(0.25)
        assert ctx.deliverer.run_once().outcomes == {"withheld": 1}
    assert [r.json()["subject"] for r in receiver.got()] == [second["id"]]  # the failed one
    statuses = sorted(d.status for d in deliveries(settings))
    assert statuses == ["withheld", "withheld"]


def test_the_policy_is_asked_as_the_subscriber_its_roles_included(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    """A participant's privacy officer may not read the case's work (the policy's
    read_case): a subscription it created is told nothing of the case, though its
    organisation takes part. The gate decides, as it would for a pull by that user."""
    settings = hub.settings
    case = new_case(http, settings)
    cid = case["id"]
    officer = As(http, settings, "woningcorporatie", "fg-1", ["privacy_officer"], "preparation")
    assert officer.get(f"/api/v1/cases/{cid}").status_code == 404  # what a pull would get
    ok(
        officer.post(
            "/api/v1/subscriptions",
            json={"callback_url": receiver.url("woningcorporatie"), "types": [FACTS]},
        ),
        201,
    )
    publish(http, settings, cid, "politie", "police.nuisance_report/1", "n-1")
    assert deliver(settings).outcomes == {"withheld": 1}
    assert receiver.got() == []
    [row] = deliveries(settings)
    assert row.last_error == "policy_refuses_case"


def test_no_event_ever_names_a_case_the_receiver_does_not_take_part_in(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    # maatschappelijk werk takes part in none of these cases; ggz in the second only
    for partner in ("woningcorporatie", "ggz", "maatschappelijk-werk", "politie"):
        subscribe(http, settings, receiver, partner, ALL_TYPES)
    cases = [new_case(http, settings, bsn=b) for b in ("111222333", "123456782")]
    zvh = actor(http, settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cases[1]['id']}/participants", json={"partner": "ggz"}))
    for i, case in enumerate(cases):
        publish(http, settings, case["id"], "politie", "police.nuisance_report/1", f"n-{i}")
        publish(
            http,
            settings,
            case["id"],
            "woningcorporatie",
            "housing.rent_arrears/1",
            f"a-{i}",
            subject=case["subjects"][0]["id"],
        )
    deliver(settings)
    members = {
        cases[0]["id"]: {"politie", "woningcorporatie"},
        cases[1]["id"]: {"politie", "woningcorporatie", "ggz"},
    }
    got = receiver.got()
    assert got, "nothing was delivered at all"
    for received in got:
        assert received.partner in members[received.json()["subject"]]
    assert receiver.got("maatschappelijk-werk") == []
    assert {r.json()["subject"] for r in receiver.got("ggz")} == {cases[1]["id"]}


def test_a_delivery_claimed_by_a_deliverer_that_died_is_sent_after_its_lease(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    """A deliverer killed after claiming (mid-attempt) holds nothing for ever: while its
    lease runs no one else sends the delivery, after it the delivery goes out, same id."""
    from datetime import UTC, datetime

    from hub.context import delivery_settings
    from hub.notifications.deliverer import Deliverer

    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-1")
    with deliverer_context(settings) as ctx:
        ctx.deliverer.fan_out()
        [(claimed, _sub, _token)] = ctx.deliverer.claim()  # ... and then it dies
        assert ctx.deliverer.run_once().outcomes == {}  # leased: not sent by another
        assert receiver.got() == []
        lease = delivery_settings(settings)
        later = Deliverer(
            ctx.db,
            ctx.gate,
            ctx.registry,
            ctx.notification_signer,
            lease,
            clock=lambda: datetime.now(UTC) + lease.lease + timedelta(seconds=1),
        )
        assert later.run_once().outcomes == {"delivered": 1}
    [got] = receiver.got()
    assert got.json()["id"] == claimed


# -- concurrency --------------------------------------------------------------------------------


def test_two_deliverers_at_once_never_send_one_event_twice_or_reuse_a_number(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    events = 12
    for i in range(events):
        publish(http, settings, case["id"], "politie", "police.nuisance_report/1", f"n-{i}")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with deliverer_context(settings) as ctx:
                # small batches, so the two claim in turns from one queue
                small = replace(delivery_settings(settings), batch=2)
                deliverer = Deliverer(
                    ctx.db, ctx.gate, ctx.registry, ctx.notification_signer, small
                )
                barrier.wait()
                deliverer.run_until_idle()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    got = receiver.got()
    ids = [r.json()["id"] for r in got]
    assert len(ids) == events and len(set(ids)) == events
    assert sorted(int(r.json()["sequence"]) for r in got) == list(range(1, events + 1))
    assert all(d.status == "delivered" for d in deliveries(settings))
