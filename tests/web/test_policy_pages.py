"""The privacy officer's policy pages (issue 18) against the API over real HTTP, on the demo:
each page shows what the same officer's API call answers (the matrix as a heat map, a cell,
the simulation, the versions, the history) and the log holds the read; an outsider, a
forged form or a stale digest changes nothing; the four-eyes rule holds on the pages as it
does on the API (ADR 0103)."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from hub import labels
from hub.policy_review.heatmap import level_counts
from hub.policy_review.store import MAX_BUNDLE_BYTES
from tests.policy_review.conftest import bundle_of, log_entries, policy_copy, set_cell
from tests.support import As, ok
from tests.web.conftest import Browser, DemoHub

PURPOSE = "policy_review"
FG_POLITIE = ("politie", "fg-politie")
FG_OM = ("om", "fg-om")
FG_GEMEENTE = ("gemeente-wi", "fg-gemeente-wi")
FG_WONING = ("woningcorporatie", "fg-woningcorporatie")
PARTICIPANT = ("politie", "demo-politie")
AUDITOR = ("zvh", "auditor-1")
DIFF_TIMEOUT = 300


@pytest.fixture(scope="module")
def http(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=DIFF_TIMEOUT) as client:
        yield client


def officer(http: httpx.Client, demo_hub: DemoHub, who: tuple[str, str]) -> As:
    return As(http, demo_hub.settings, who[0], who[1], ["privacy_officer"], PURPOSE)


def signed_in(browser_for: Any, who: tuple[str, str]) -> Browser:
    b: Browser = browser_for()
    b.demo_login(*who)
    b.http.timeout = httpx.Timeout(DIFF_TIMEOUT)
    return b


def reads(demo_hub: DemoHub, user: str, action: str = "policy.read") -> list[Any]:
    return [e for e in log_entries(demo_hub.settings, action) if e.actor_user == user]


# --- matrix ------------------------------------------------------------------------------------


def test_the_matrix_page_is_the_apis_matrix_as_a_heat_map(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    api = ok(officer(http, demo_hub, FG_POLITIE).get("/api/v1/policies/active/matrix"))
    b = signed_in(browser_for, FG_POLITIE)
    choose = b.get("/beleid/matrix")
    assert choose.status_code == 200
    for table in api["tables"]:
        assert f'href="/beleid/matrix/{table["table"]}"' in choose.text
        before = len(reads(demo_hub, "fg-politie"))
        page = b.get(f"/beleid/matrix/{table['table']}")
        assert page.status_code == 200
        assert len(reads(demo_hub, "fg-politie")) == before + 1  # the API's read, logged
        assert "Doel: toetsing van de privacyregels" in page.text
        header = re.findall(r'<th scope="col" class="vhhub-heat__phase">([^<]+)</th>', page.text)
        assert header == [labels.PHASE[p] for p in api["phases"]]  # closed included
        for row in table["rows"]:
            assert f'data-row="{row["row"]}"' in page.text
            for cell in row["cells"]:
                counts = level_counts(cell["domains"], api["life_domains"])
                words = ", ".join(f"{c.count} {labels.LEVEL[c.level]}" for c in counts if c.count)
                marker = f'data-cell="{row["row"]}/{cell["phase"]}/{cell["purpose"]}"'
                at = page.text.index(marker)
                assert words in page.text[at : at + 1500], (row["row"], cell["phase"])
        assert "summary_all" not in page.text and 'style="' not in page.text


def test_a_cell_shows_each_domain_its_level_and_the_rules_with_their_sources(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    api = ok(officer(http, demo_hub, FG_OM).get("/api/v1/policies/active/matrix"))
    table = next(t for t in api["tables"] if t["table"] == "multi_problem")
    row = next(r for r in table["rows"] if r["row"] == "housing")
    cell = next(c for c in row["cells"] if c["phase"] == "case_conference")
    page = signed_in(browser_for, FG_OM).get(
        "/beleid/matrix/multi_problem/cel",
        params={"rij": "housing", "fase": "case_conference", "doel": "case_conference"},
    )
    assert page.status_code == 200
    for domain in api["life_domains"]:
        assert f'data-domain="{domain}" data-level="{cell["domains"][domain]}"' in page.text
    for rule in row["rules"]:
        assert str(escape(api["rules"][rule]["source"])) in page.text
    assert "Woningcorporatie" in page.text


def test_a_proposed_or_unknown_version_and_a_wrong_cell(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for, FG_OM)
    assert b.get("/beleid/matrix", params={"versie": "not-a-version"}).status_code == 400
    assert b.get("/beleid/matrix", params={"versie": "ab" * 8}).status_code == 404
    assert b.get("/beleid/matrix/nowhere").status_code == 404
    wrong = b.get("/beleid/matrix/youth/cel", params={"rij": "nobody", "fase": "plan"})
    assert wrong.status_code == 404


# --- simulation ----------------------------------------------------------------------------------


def test_the_simulation_page_decides_as_the_api_does(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    body = {
        "viewer": {"partner_kind": "housing", "roles": ["participant"]},
        "table": "multi_problem",
        "phase": "case_conference",
        "fact_types": [],
    }
    api = ok(officer(http, demo_hub, FG_POLITIE).post("/api/v1/policies/simulations", json=body))
    b = signed_in(browser_for, FG_POLITIE)
    form = b.get("/beleid/simulatie")
    before = len(reads(demo_hub, "fg-politie", "policy.simulate"))
    answer = b.post(
        "/beleid/simulatie",
        {
            "csrf_token": b.csrf(form),
            "soort": "housing",
            "rol": "participant",
            "tafel": "multi_problem",
            "fase": "case_conference",
            "doel": "",
            "casus": "",
        },
    )
    assert answer.status_code == 200
    assert len(api["facts"]) > 5
    for fact in api["facts"]:
        assert f'data-fact="{fact["id"]}" data-level="{fact["level"]}"' in answer.text
        assert str(escape(fact["rule_title"])) in answer.text
        assert str(escape(fact["reason"])) in answer.text
    assert "Woningcorporatie als deelnemer" in answer.text
    assert len(reads(demo_hub, "fg-politie", "policy.simulate")) == before + 1


def test_a_case_simulation_shows_the_apis_decisions_and_no_content(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    body: dict[str, Any] = {
        "viewer": {"partner_kind": "housing", "roles": ["participant"]},
        "case_id": demo_hub.case_id,
    }
    api = ok(officer(http, demo_hub, FG_POLITIE).post("/api/v1/policies/simulations", json=body))
    b = signed_in(browser_for, FG_POLITIE)
    form = b.get("/beleid/simulatie")
    answer = b.post(
        "/beleid/simulatie",
        {
            "csrf_token": b.csrf(form),
            "soort": "housing",
            "rol": "participant",
            "casus": demo_hub.case_id,
        },
    )
    assert answer.status_code == 200
    assert api["facts"]
    for fact in api["facts"]:
        assert f'data-fact="{fact["id"]}" data-level="{fact["level"]}"' in answer.text


def test_invalid_simulation_input_is_a_400_that_simulates_nothing(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for, FG_POLITIE)
    form = b.get("/beleid/simulatie")
    before = len(log_entries(demo_hub.settings, "policy.simulate"))
    answer = b.post(
        "/beleid/simulatie",
        {
            "csrf_token": b.csrf(form),
            "soort": "aliens",
            "rol": "king",
            "tafel": "",
            "fase": "later",
            "feittypen": "nonsense/1",
        },
    )
    assert answer.status_code == 400
    assert 'id="error-summary"' in answer.text and 'href="#field-soort"' in answer.text
    assert len(log_entries(demo_hub.settings, "policy.simulate")) == before


def test_a_case_simulation_of_a_case_the_partner_is_not_in_is_refused(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for, FG_WONING)
    form = b.get("/beleid/simulatie")
    answer = b.post(
        "/beleid/simulatie",
        {
            "csrf_token": b.csrf(form),
            "soort": "police",
            "rol": "participant",
            "casus": "00000000-0000-0000-0000-000000000000",
        },
    )
    assert answer.status_code == 404


# --- who may look at all -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/beleid", "/beleid/matrix/youth", "/beleid/geschiedenis"])
def test_a_participant_gets_the_refusal_the_api_gives(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, path: str
) -> None:
    api = As(http, demo_hub.settings, *PARTICIPANT, ["participant"], PURPOSE)
    assert api.get("/api/v1/policies").status_code == 403
    assert signed_in(browser_for, PARTICIPANT).get(path).status_code == 403


def test_without_login_every_policy_page_sends_to_the_login(demo_hub: DemoHub) -> None:
    with httpx.Client(base_url=demo_hub.base_url) as anonymous:
        for path in ("/beleid", "/beleid/matrix", "/beleid/simulatie", "/beleid/geschiedenis"):
            assert anonymous.get(path).headers.get("location") == "/aanmelden"


# --- versions, approval and history: one story over the module's hub -----------------------------


@pytest.fixture(scope="module")
def proposed(demo_hub: DemoHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """fg-politie uploads a valid change through the page (one cell no protected test pins)."""
    target = policy_copy(tmp_path_factory.mktemp("policy"))
    set_cell(target, "youth", "housing", "execution", "execution", "summary_all")
    b = Browser(demo_hub.base_url)
    try:
        b.demo_login(*FG_POLITIE)
        b.http.timeout = httpx.Timeout(DIFF_TIMEOUT)
        form = b.get("/beleid/versies/nieuw")
        answer = b.http.post(
            "/beleid/versies/nieuw",
            data={"csrf_token": b.csrf(form)},
            files={"bundel": ("beleid.tar.gz", bundle_of(target), "application/gzip")},
            headers=b._headers({"origin": demo_hub.base_url, "sec-fetch-site": "same-origin"}),
        )
        assert answer.status_code == 303, answer.text[:500]
        location = answer.headers["location"]
        version = location.split("/")[-1].split("?")[0]
        return {"version": version, "location": location}
    finally:
        b.close()


def test_the_upload_is_the_apis_load_and_refuses_what_it_refuses(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, proposed: dict[str, Any]
) -> None:
    version = proposed["version"]
    api = ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}"))
    assert api["status"] == "inactive" and api["loaded_by"] == {
        "partner": "politie",
        "user": "fg-politie",
    }
    b = signed_in(browser_for, FG_POLITIE)
    form = b.get("/beleid/versies/nieuw")
    headers = b._headers({"origin": demo_hub.base_url, "sec-fetch-site": "same-origin"})
    junk = b.http.post(
        "/beleid/versies/nieuw",
        data={"csrf_token": b.csrf(form)},
        files={"bundel": ("x.tar.gz", b"not a tar", "application/gzip")},
        headers=headers,
    )
    assert junk.status_code == 422 and 'id="error-summary"' in junk.text
    empty = b.http.post("/beleid/versies/nieuw", data={"csrf_token": b.csrf(form)}, headers=headers)
    assert empty.status_code == 400 and 'href="#field-bundel"' in empty.text
    too_big = b.http.post(
        "/beleid/versies/nieuw",
        data={"csrf_token": b.csrf(form)},
        files={"bundel": ("x.tar.gz", os.urandom(MAX_BUNDLE_BYTES + 10), "application/gzip")},
        headers=headers,
    )
    assert too_big.status_code == 413 and "te groot" in too_big.text
    # an auditor may read but not load: the API's 403, as a page
    auditor = signed_in(browser_for, AUDITOR)
    page = auditor.get("/beleid/versies/nieuw")
    refused = auditor.http.post(
        "/beleid/versies/nieuw",
        data={"csrf_token": auditor.csrf(page)},
        files={"bundel": ("x.tar.gz", b"x", "application/gzip")},
        headers=auditor._headers({"origin": demo_hub.base_url, "sec-fetch-site": "same-origin"}),
    )
    assert refused.status_code == 403


def test_the_overview_lists_what_the_api_lists(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, proposed: dict[str, Any]
) -> None:
    api = ok(officer(http, demo_hub, FG_OM).get("/api/v1/policies"))
    page = signed_in(browser_for, FG_OM).get("/beleid")
    assert page.status_code == 200
    for v in api["versions"]:
        if v["status"] in ("active", "inactive"):
            assert f'data-version="{v["version"]}" data-status="{v["status"]}"' in page.text
    assert f'href="/beleid/versies/{proposed["version"]}"' in page.text
    # the matrix of the proposed version, as the API gives it
    version = proposed["version"]
    matrix = ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}/matrix"))
    cell = next(
        c
        for r in matrix["tables"][0]["rows"]
        if r["row"] == "housing"
        for c in r["cells"]
        if c["phase"] == "execution"
    )
    assert matrix["tables"][0]["table"] == "youth" and cell["profile"] == "summary_all"
    shown = signed_in(browser_for, FG_OM).get("/beleid/matrix/youth", params={"versie": version})
    assert shown.status_code == 200 and version[:12] in shown.text
    words = ", ".join(
        f"{c.count} {labels.LEVEL[c.level]}"
        for c in level_counts(cell["domains"], matrix["life_domains"])
        if c.count
    )
    at = shown.text.index('data-cell="housing/execution/execution"')
    assert words in shown.text[at : at + 1500]


def diff_page(b: Browser, version: str) -> httpx.Response:
    answer = b.get(f"/beleid/versies/{version}/verschil", headers={"hx-request": "true"})
    assert answer.status_code == 200, answer.text[:300]
    return answer


def post_approval(b: Browser, version: str, digest: str, token: str | None) -> httpx.Response:
    data = {"digest": digest}
    if token is not None:
        data["csrf_token"] = token
    return b.post(f"/beleid/versies/{version}/goedkeuren", data)


def test_the_diff_is_the_apis_and_the_loader_cannot_approve_its_own_version(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, proposed: dict[str, Any]
) -> None:
    version = proposed["version"]
    api = ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/active/diff/{version}"))
    loader = signed_in(browser_for, FG_POLITIE)
    page = loader.get(f"/beleid/versies/{version}")
    assert page.status_code == 200 and 'hx-trigger="load"' in page.text
    fragment = diff_page(loader, version)
    assert f'data-digest="{api["digest"]}"' in fragment.text
    assert f"{len(api['changes'])} beslissingen veranderen" in fragment.text
    for change in api["changes"]:
        assert f'data-change="{change["table"]}/{change["viewer"]}/{change["phase"]}"' in (
            fragment.text
        )
    # four eyes: no button for the loader's partner, and a forged post is the API's 403
    assert "/goedkeuren" not in fragment.text and "data-no-approve" in fragment.text
    refused = post_approval(loader, version, api["digest"], loader.csrf(page))
    assert refused.status_code == 403
    assert ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}"))["approvals"] == []


@pytest.mark.parametrize("who", [FG_WONING, AUDITOR, PARTICIPANT])
def test_who_may_not_approve_gets_403_and_changes_nothing(
    browser_for: Any,
    http: httpx.Client,
    demo_hub: DemoHub,
    proposed: dict[str, Any],
    who: tuple[str, str],
) -> None:
    version = proposed["version"]
    b = signed_in(browser_for, who)
    token = b.csrf(b.get("/casussen")) if who == PARTICIPANT else None
    if token is None:
        page = b.get(f"/beleid/versies/{version}")
        assert page.status_code == 200
        token = b.csrf(page)
        fragment = diff_page(b, version)
        assert "/goedkeuren" not in fragment.text  # not offered
        digest = re.search(r'data-digest="([0-9a-f]{64})"', fragment.text)
        assert digest is not None
        answer = post_approval(b, version, digest.group(1), token)
    else:
        answer = post_approval(b, version, "a" * 64, token)
    assert answer.status_code == 403
    assert ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}"))["approvals"] == []


def test_a_forged_digest_or_a_form_without_csrf_changes_nothing(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, proposed: dict[str, Any]
) -> None:
    version = proposed["version"]
    b = signed_in(browser_for, FG_OM)
    page = b.get(f"/beleid/versies/{version}")
    token = b.csrf(page)
    forged = post_approval(b, version, "0" * 64, token)
    assert forged.status_code == 409
    assert "Er is niets vastgelegd" in forged.text
    malformed = post_approval(b, version, "<script>", token)
    assert malformed.status_code == 400
    digest = re.search(r'data-digest="([0-9a-f]{64})"', diff_page(b, version).text)
    assert digest is not None
    no_csrf = post_approval(b, version, digest.group(1), None)
    assert no_csrf.status_code == 403
    assert ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}"))["approvals"] == []


def test_two_key_partners_activate_and_a_second_user_of_one_counts_once(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, proposed: dict[str, Any]
) -> None:
    version = proposed["version"]
    om = signed_in(browser_for, FG_OM)
    page = om.get(f"/beleid/versies/{version}")
    fragment = diff_page(om, version)
    assert "/goedkeuren" in fragment.text
    digest = re.search(r'data-digest="([0-9a-f]{64})"', fragment.text)
    assert digest is not None
    first = post_approval(om, version, digest.group(1), om.csrf(page))
    assert first.status_code == 303
    assert first.headers["location"] == f"/beleid/versies/{version}?goedgekeurd=ja"
    # another officer user of the same partner (any user id the partner mints) counts once
    again = officer(http, demo_hub, ("om", "fg-om-2")).post(
        f"/api/v1/policies/{version}/approvals", json={"diff_digest": digest.group(1)}
    )
    assert again.status_code == 200 and again.json()["approval_recorded"] is False
    status = ok(officer(http, demo_hub, FG_OM).get(f"/api/v1/policies/{version}"))
    assert status["status"] == "inactive" and status["approvals_counted"] == ["om"]

    gemeente = signed_in(browser_for, FG_GEMEENTE)
    page = gemeente.get(f"/beleid/versies/{version}")
    fragment = diff_page(gemeente, version)
    second = post_approval(gemeente, version, digest.group(1), gemeente.csrf(page))
    assert second.headers["location"] == f"/beleid/versies/{version}?goedgekeurd=actief"
    overview = gemeente.get("/beleid")
    assert f'data-version="{version}" data-status="active"' in overview.text

    # the history page and its exports are the API's history
    api = ok(officer(http, demo_hub, FG_OM).get("/api/v1/policies/history"))
    history = gemeente.get("/beleid/geschiedenis")
    assert history.status_code == 200
    for v in api["versions"]:
        assert f'data-version="{v["version"]}" data-status="{v["status"]}"' in history.text
        for a in v["approvals"]:
            assert f'data-approval="{a["partner"]}/{a["user"]}"' in history.text
    mine = next(v for v in api["versions"] if v["version"] == version)
    assert {a["partner"] for a in mine["approvals"]} == {"om", "gemeente-wi"}
    exported = gemeente.get("/beleid/geschiedenis.json")
    assert exported.json()["versions"] == api["versions"]
    rows = list(csv.reader(io.StringIO(gemeente.get("/beleid/geschiedenis.csv").text)))
    assert [r[0] for r in rows[1:]] == [v["version"] for v in api["versions"]]


def test_the_log_holds_each_page_read_as_the_apis_read(
    browser_for: Any, demo_hub: DemoHub, tmp_path: Path
) -> None:
    b = signed_in(browser_for, FG_GEMEENTE)
    before = len(reads(demo_hub, "fg-gemeente-wi"))
    for path in ("/beleid", "/beleid/geschiedenis", "/beleid/matrix/youth"):
        assert b.get(path).status_code == 200
    entries = reads(demo_hub, "fg-gemeente-wi")[before:]
    assert len(entries) == 3
    assert all(e.purpose == PURPOSE and e.actor_partner == "gemeente-wi" for e in entries)
