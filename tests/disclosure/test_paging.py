"""Issue 15: the briefing and the updates feed of a very large case come in pages of at most
500 facts, each page its own disclosure with its own bounded access-log entry; a cursor
reaches nothing outside its case and a forged one is refused without being repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest

from hub.context import HubContext
from hub.errors import PROBLEM_BASE
from hub.facts.models import Fact
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, example, log_actions, log_size
from tests.support import As, ok

LARGE = 1_203


def publish_many(world: World, n: int, prefix: str = "bulk") -> list[str]:
    """`n` police incidents through the batch endpoint (500 a request, the API's maximum)."""
    content = example("police.incident.1")
    ids: list[str] = []
    for start in range(0, n, 500):
        batch = [
            {
                "idempotency_key": f"{prefix}-{i}",
                "type": "police.incident/1",
                "subject_id": world.subject_id,
                "legal_basis": "wpg_art_19",
                "content": content,
            }
            for i in range(start, min(n, start + 500))
        ]
        out = ok(
            world.police.post(f"/api/v1/cases/{world.case_id}/fact-batches", json={"facts": batch}),
            201,
        )
        ids += [f["id"] for f in out["facts"]]
    return ids


def page_ids(briefing: dict[str, Any]) -> list[str]:
    return [fact["id"] for section in briefing["domains"] for fact in section["facts"]]


def walk_briefing(who: As, case_id: str, **params: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor is not None else {})
        page = ok(who.get(f"/api/v1/cases/{case_id}/briefing", params=query))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the walk does not end"


def walk_updates(who: As, case_id: str, **params: Any) -> tuple[list[dict[str, Any]], str]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor is not None else {})
        page = ok(who.get(f"/api/v1/cases/{case_id}/updates", params=query))
        pages.append(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return pages, cursor
        assert len(pages) < 50, "the walk does not end"


def entries_by_seq(settings: Settings, since: int) -> dict[int, tuple[Any, ...]]:
    return {e[0]: e for e in log_actions(settings, since=since)}


def assert_refused(response: httpx.Response, *hidden: str) -> None:
    """A 4xx problem+json that repeats nothing of what was sent."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].startswith(PROBLEM_BASE)
    for value in hidden:
        assert value not in response.text


@pytest.fixture
def world(http: httpx.Client, hub: RunningHub) -> World:
    return case_in_preparation(http, hub.settings)


def test_a_large_briefing_comes_in_pages_of_500_each_logged_with_only_its_facts(
    world: World, hub: RunningHub
) -> None:
    published = publish_many(world, LARGE)
    before = log_size(hub.settings)
    pages = walk_briefing(world.housing, world.case_id)
    assert [len(page_ids(p)) for p in pages] == [500, 500, 203]
    seen = [i for p in pages for i in page_ids(p)]
    assert len(seen) == len(set(seen)) and set(seen) == set(published)  # none repeated or missed
    entries = entries_by_seq(hub.settings, before)
    reads = [e for e in entries.values() if e[1] == "briefing.read"]
    assert len(reads) == len(pages)  # one entry per page
    for page in pages:
        _, action, outcome, case_id, object_ids, _ = entries[page["log_seq"]]
        assert (action, outcome, case_id) == ("briefing.read", "allowed", world.case_id)
        assert sorted(object_ids) == sorted(page_ids(page))  # only this page's facts

    # the updates feed pages the same facts the same way, and ends where polling resumes
    before = log_size(hub.settings)
    updates, resume = walk_updates(world.housing, world.case_id)
    assert [len(p["facts"]) for p in updates] == [500, 500, 203]
    changed = [f["id"] for p in updates for f in p["facts"]]
    assert len(changed) == len(set(changed)) and set(changed) == set(published)
    feed = [e for e in log_actions(hub.settings, since=before) if e[1] == "updates.read"]
    assert [sorted(e[4]) for e in feed] == [sorted(f["id"] for f in p["facts"]) for p in updates]
    later = publish_many(world, 2, prefix="later")
    polled = ok(
        world.housing.get(f"/api/v1/cases/{world.case_id}/updates", params={"cursor": resume})
    )
    assert {f["id"] for f in polled["facts"]} == set(later) and polled["has_more"] is False


def test_pages_that_split_a_publish_batch_miss_and_repeat_nothing(world: World) -> None:
    """A batch of 500 facts shares one change seq; a page of 300 ends inside it. (The feed's
    old integer cursor, the last seq, skipped the rest of such a batch.)"""
    published = publish_many(world, 1_000)
    pages = walk_briefing(world.housing, world.case_id, limit=300)
    assert [len(page_ids(p)) for p in pages] == [300, 300, 300, 100]
    seen = [i for p in pages for i in page_ids(p)]
    assert len(seen) == len(set(seen)) and set(seen) == set(published)
    updates, _ = walk_updates(world.housing, world.case_id, limit=300)
    changed = [f["id"] for p in updates for f in p["facts"]]
    assert len(changed) == len(set(changed)) and set(changed) == set(published)
    assert set(changed[:500]) == set(published[:500])  # change order: batch by batch


def test_a_batch_that_changes_between_pages_is_read_again_never_missed(world: World) -> None:
    published = publish_many(world, 10)
    first = ok(world.housing.get(f"/api/v1/cases/{world.case_id}/briefing", params={"limit": 4}))
    read = page_ids(first)
    # a fact the first page showed is corrected: the batch now has 9 current facts, so an
    # offset of 4 into it would skip one
    corrected = ok(
        world.police.post(
            f"/api/v1/facts/{read[0]}/corrections", json={"content": example("police.incident.1")}
        ),
        201,
    )["id"]
    rest = walk_briefing_from(world.housing, world.case_id, first["next_cursor"], limit=4)
    seen = set(read) | {i for p in rest for i in page_ids(p)}
    assert seen >= (set(published) - {read[0]}) | {corrected}


def walk_briefing_from(who: As, case_id: str, cursor: str, **params: Any) -> list[dict[str, Any]]:
    pages = []
    next_cursor: str | None = cursor
    while next_cursor is not None:
        page = ok(
            who.get(
                f"/api/v1/cases/{case_id}/briefing", params=dict(params) | {"cursor": next_cursor}
            )
        )
        pages.append(page)
        next_cursor = page["next_cursor"]
    return pages


def test_a_small_case_is_one_page_as_before(world: World) -> None:
    fact = world.publish_incident("one")
    briefing = ok(world.briefing(world.housing))
    assert page_ids(briefing) == [fact] and briefing["next_cursor"] is None


@pytest.mark.parametrize("path", ["briefing", "updates"])
@pytest.mark.parametrize("limit", ["501", "0", "-1", str(2**64)])
def test_a_limit_outside_1_to_500_is_400(world: World, path: str, limit: str) -> None:
    answer = world.housing.get(f"/api/v1/cases/{world.case_id}/{path}", params={"limit": limit})
    assert answer.status_code == 400
    assert_refused(answer, *([limit] if len(limit) > 2 else []))


def test_a_forged_or_altered_cursor_is_refused_without_echo(world: World, hub: RunningHub) -> None:
    publish_many(world, 3)
    first = ok(world.housing.get(f"/api/v1/cases/{world.case_id}/briefing", params={"limit": 1}))
    real = first["next_cursor"]
    flipped = real[:-3] + ("A" if real[-3] != "A" else "B") + real[-2:]
    forged = [
        "123456782",  # a BSN, as personal data a client might put anywhere
        "Jan Jansen",
        "eyJhbGciOiJub25lIn0",
        real[:-4],
        flipped,
        real + "AA",
        "WyJiIiwiIiwwLDAsMF0",  # ["b","",0,0,0]: another case
        "WyJiIiwxLDIsMywtMV0",  # a negative count
        "x" * 201,
    ]
    before = log_size(hub.settings)
    for cursor in forged:
        answer = world.housing.get(
            f"/api/v1/cases/{world.case_id}/briefing", params={"cursor": cursor}
        )
        assert_refused(answer, cursor)
        if cursor.isdigit():
            continue  # the feed's integer cursor (a change seq) is a valid one
        answer = world.housing.get(
            f"/api/v1/cases/{world.case_id}/updates", params={"cursor": cursor}
        )
        assert_refused(answer, cursor)
    # nothing was disclosed, so nothing was logged as a read
    assert not [e for e in log_actions(hub.settings, since=before) if e[1].endswith(".read")]
    # a briefing cursor is not an updates cursor
    assert_refused(
        world.housing.get(f"/api/v1/cases/{world.case_id}/updates", params={"cursor": real}), real
    )


def test_a_cursor_reaches_no_other_case(http: httpx.Client, hub: RunningHub, world: World) -> None:
    publish_many(world, 3)
    other = case_in_preparation(
        http, hub.settings, subject={"role_in_case": "parent", "bsn": "111222333"}
    )
    publish_many(other, 3, prefix="other")
    cursor = ok(world.housing.get(f"/api/v1/cases/{world.case_id}/briefing", params={"limit": 1}))[
        "next_cursor"
    ]
    feed = ok(world.housing.get(f"/api/v1/cases/{world.case_id}/updates", params={"limit": 1}))[
        "next_cursor"
    ]
    # a member of both cases: the cursor of one is refused on the other
    assert_refused(
        world.housing.get(f"/api/v1/cases/{other.case_id}/briefing", params={"cursor": cursor})
    )
    assert_refused(
        world.housing.get(f"/api/v1/cases/{other.case_id}/updates", params={"cursor": feed})
    )
    # an outsider with a cursor learns no more than with none: the unknown-id answer
    ggz = As(http, hub.settings, "ggz", "g-1", ["participant"], "preparation")
    for case_id in (world.case_id, "00000000-0000-4000-8000-000000000000"):
        answer = ggz.get(f"/api/v1/cases/{case_id}/briefing")
        assert answer.status_code == 404
    answer = ggz.get(f"/api/v1/cases/{world.case_id}/briefing", params={"cursor": cursor})
    assert answer.status_code == 404


def test_the_feed_still_takes_an_integer_cursor(world: World) -> None:
    ids = publish_many(world, 3)
    everything = ok(
        world.housing.get(f"/api/v1/cases/{world.case_id}/updates", params={"cursor": 0})
    )
    assert sorted(f["id"] for f in everything["facts"]) == sorted(ids)
    huge = world.housing.get(f"/api/v1/cases/{world.case_id}/updates", params={"cursor": 2**63})
    assert_refused(huge, str(2**63))


@pytest.fixture
def counting(operator: HubContext) -> Iterator[tuple[HubContext, dict[str, int]]]:
    """The operator's door, counting what it asks the policy and what it decrypts."""
    counts = {"decided": 0, "opened": 0}
    door = operator.briefing
    release: Callable[..., Any] = door._gate.release_facts
    open_fact: Callable[..., Any] = door._vault.open_fact

    def counted_release(session: Any, viewer: Any, case: Any, facts: Sequence[Fact]) -> Any:
        counts["decided"] += len(facts)
        return release(session, viewer, case, facts)

    def counted_open(*args: Any, **kwargs: Any) -> Any:
        counts["opened"] += 1
        return open_fact(*args, **kwargs)

    door._gate.release_facts = counted_release  # type: ignore[method-assign]
    door._vault.open_fact = counted_open  # type: ignore[method-assign]
    yield operator, counts


def test_a_page_costs_only_its_own_facts(
    world: World, counting: tuple[HubContext, dict[str, int]]
) -> None:
    from hub.audit.log import RequestInfo
    from hub.identity.viewer import Viewer
    from hub.vocabulary import PartnerKind, Purpose, Role

    publish_many(world, 700)
    ctx, counts = counting
    housing = Viewer(
        partner="woningcorporatie",
        partner_kind=PartnerKind.HOUSING,
        user="w-1",
        roles=frozenset({Role.PARTICIPANT}),
        purpose=Purpose.PREPARATION,
        request=RequestInfo(source="test", purpose=Purpose.PREPARATION),
    )
    page = ctx.briefing.briefing(housing, world.case_id, None, 50)
    assert counts == {"decided": 50, "opened": 50}
    assert page.next_cursor is not None
    ctx.briefing.updates(housing, world.case_id, None, 20)
    assert counts == {"decided": 70, "opened": 70}
