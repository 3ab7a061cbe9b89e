"""Who reads and changes a subscription (ADR 0019, section 4): the gate decides
(`manage_subscriptions`), a subscription is its creator's, a listing names only cases the
caller may read now, and every act and refusal is logged. A case id one may not subscribe to
answers like an unknown one, and an implausible subscription id like an unknown one.
On SQLite and PostgreSQL (VHHUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hub.ids import plausible_id
from tests.cases.test_workflow import actor, new_case
from tests.conftest import RunningHub
from tests.disclosure.scenario import log_actions, log_size
from tests.notifications.conftest import Receiver
from tests.support import As, ok

FACTS = "nl.vhhub.case.facts-released"
MW = "maatschappelijk-werk"
NOT_TAKING_PART = "case_ids/0: not a case your organisation takes part in"


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return {k: v for k, v in response.json().items() if k != "instance"}


def _anna_alone_in_a_case(http: httpx.Client, hub: RunningHub) -> tuple[str, As, As]:
    """A case to which only mw-anna of maatschappelijk-werk is invited, and her colleague."""
    cid = new_case(http, hub.settings, invite=())["id"]
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": MW, "user": "mw-anna"}))
    anna = actor(http, hub.settings, MW, "preparation", ["participant"], "mw-anna")
    bob = actor(http, hub.settings, MW, "execution", ["participant"], "mw-bob")
    assert anna.get(f"/api/v1/cases/{cid}").status_code == 200
    assert bob.get(f"/api/v1/cases/{cid}").status_code == 404
    return cid, anna, bob


def test_a_colleague_neither_lists_nor_ends_a_subscription_nor_probes_its_cases(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    cid, anna, bob = _anna_alone_in_a_case(http, hub)
    body = {"callback_url": receiver.url(MW), "types": [FACTS], "case_ids": [cid]}
    sub = ok(anna.post("/api/v1/subscriptions", json=body), 201)
    assert sub["case_ids"] == [cid] and sub["created_by_user"] == "mw-anna"

    # bob's list shows nothing of anna's subscription, and is logged
    since = log_size(settings)
    listed = bob.get("/api/v1/subscriptions")
    assert ok(listed) == {"subscriptions": []}
    assert cid not in listed.text and "mw-anna" not in listed.text and sub["id"] not in listed.text
    assert [e[1:5] for e in log_actions(settings, since)] == [
        ("subscription.list", "allowed", None, [])
    ]

    # anna's list shows it, and is logged with the subscription shown
    since = log_size(settings)
    [mine] = ok(anna.get("/api/v1/subscriptions"))["subscriptions"]
    assert mine["id"] == sub["id"] and mine["case_ids"] == [cid]
    assert [e[1:5] for e in log_actions(settings, since)] == [
        ("subscription.list", "allowed", None, [sub["id"]])
    ]

    # bob cannot end it: the answer of an unknown id, logged; it stays live
    since = log_size(settings)
    theirs = bob.delete(f"/api/v1/subscriptions/{sub['id']}")
    unknown = bob.delete(f"/api/v1/subscriptions/{uuid.uuid4()}")
    assert theirs.status_code == unknown.status_code == 404
    assert _problem(theirs) == _problem(unknown)
    entries = log_actions(settings, since)
    assert [(e[1], e[2], e[3]) for e in entries] == [("subscription.end", "denied", None)] * 2
    assert [s["id"] for s in ok(anna.get("/api/v1/subscriptions"))["subscriptions"]] == [sub["id"]]

    # bob cannot probe case ids: the case he may not read answers like an unknown id,
    # and both are logged alike
    bob_body = {"callback_url": receiver.url(MW), "types": [FACTS]}
    since = log_size(settings)
    other = str(uuid.uuid4())
    answers = [
        bob.post("/api/v1/subscriptions", json={**bob_body, "case_ids": [case_id]})
        for case_id in (cid, other)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert _problem(answers[0]) == _problem(answers[1])
    assert log_actions(settings, since) == [
        (seq, "subscription.create", "denied", None, [case_id], NOT_TAKING_PART)
        for seq, case_id in zip(range(since, since + 2), (cid, other), strict=True)
    ]

    # once anna may no longer read the case, her own list no longer names it
    zvh = actor(http, settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    invitation = next(
        p for p in ok(zvh.get(f"/api/v1/cases/{cid}"))["participants"] if p["partner"] == MW
    )
    ok(zvh.delete(f"/api/v1/cases/{cid}/participants/{invitation['id']}"))
    [mine] = ok(anna.get("/api/v1/subscriptions"))["subscriptions"]
    assert mine["id"] == sub["id"] and mine["case_ids"] == []

    # anna ends her own, logged
    since = log_size(settings)
    assert anna.delete(f"/api/v1/subscriptions/{sub['id']}").status_code == 204
    assert [e[1:5] for e in log_actions(settings, since)] == [
        ("subscription.end", "allowed", None, [sub["id"]])
    ]


def test_the_policy_decides_who_manages_subscriptions_and_a_refusal_is_logged(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    auditor = As(http, settings, "zvh", "aud-1", ["auditor"], "preparation")
    wrong_purpose = actor(http, settings, "woningcorporatie", "audit")
    for who in (auditor, wrong_purpose):
        for method, path, act in (
            ("GET", "/api/v1/subscriptions", "subscription.list"),
            ("DELETE", f"/api/v1/subscriptions/{uuid.uuid4()}", "subscription.end"),
            ("POST", "/api/v1/subscriptions", "subscription.create"),
        ):
            since = log_size(settings)
            body = {"callback_url": receiver.url("woningcorporatie"), "types": [FACTS]}
            response = who.http.request(
                method,
                path,
                headers=who.headers(),
                json=body if method == "POST" else None,
            )
            assert response.status_code == 403, (who.user, method)
            assert _problem(response)["type"].endswith("/forbidden")
            assert [(e[1], e[2]) for e in log_actions(settings, since)] == [(act, "denied")]
    # nothing was created
    housing = actor(http, settings, "woningcorporatie", "preparation")
    assert ok(housing.get("/api/v1/subscriptions")) == {"subscriptions": []}


@pytest.mark.parametrize(
    "implausible",
    [
        "%00",
        "abc%00def",
        "0" * 8 + "-0000-4000-8000-" + "0" * 11 + "%00",
        "x%20y",
        "{" + "0" * 32 + "}",
        "%E2%80%AE",
        "%C2%B2",
    ],
)
def test_an_implausible_subscription_id_answers_like_an_unknown_one(
    http: httpx.Client, hub: RunningHub, receiver: Receiver, implausible: str
) -> None:
    """A NUL byte in the path was a psycopg DataError (500) on PostgreSQL."""
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    body = {"callback_url": receiver.url("woningcorporatie"), "types": [FACTS]}
    sub = ok(housing.post("/api/v1/subscriptions", json=body), 201)
    since = log_size(hub.settings)
    odd = housing.delete(f"/api/v1/subscriptions/{implausible}")
    unknown = housing.delete(f"/api/v1/subscriptions/{uuid.uuid4()}")
    assert odd.status_code == unknown.status_code == 404, odd.text
    assert _problem(odd) == _problem(unknown)
    entries = log_actions(hub.settings, since)
    assert [(e[1], e[2]) for e in entries] == [("subscription.end", "denied")] * 2
    assert entries[0][4] == []  # an implausible id is not stored in the log
    # the real one is untouched
    assert [s["id"] for s in ok(housing.get("/api/v1/subscriptions"))["subscriptions"]] == [
        sub["id"]
    ]


def test_only_ids_the_hub_could_have_made_are_looked_up() -> None:
    """`hub.ids.plausible_id`, the one check for every id looked up by path."""
    real = str(uuid.uuid4())
    assert plausible_id(real) and plausible_id(real.upper())
    odd_ones = ("{" + real + "}", "urn:uuid:" + real, real + "0", "", "\x00", "a b", "\u202e")
    for odd in (*odd_ones, "\u00b2", "caf\u00e9", "\u0663", "x\n"):
        assert not plausible_id(odd), odd
