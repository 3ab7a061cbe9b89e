"""The auditor's screens (issue 18) against the API over real HTTP: the log search, an entry
with its proof check, the verification status and the exports, and the art. 15 report as a
page and a PDF. Each page shows what the API gives auditor-1 for the same query, each view
is one access-log entry like the API's, a cursor of another query is refused, identifiers
never reach a URL, the stored query or a server log line, and every other role gets the 403
page and nothing of the log."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import pytest

from hub import labels
from hub.audit.entry import Action
from hub.audit.proof_check import ProofInput, ProofProblem, check_inclusion
from hub.demo.personas import persona
from hub.demo.scenario import REPORT_IDENTIFIERS
from tests.support import As, ok
from tests.web.conftest import Browser, DemoHub

AUDITOR = ("zvh", "auditor-1")
ATTACKERS = {
    "participant": ("politie", "demo-politie"),
    "procesregisseur": ("zvh", "procesregisseur-1"),
    "privacy officer": ("politie", "fg-politie"),
}
FATHER = REPORT_IDENTIFIERS["vader"]
MOTHER = REPORT_IDENTIFIERS["moeder"]
SECRETS = ("111222333", "Demo Moeder", "1988-04-12")
ROW = re.compile(r'data-seq="(\d+)"')


@pytest.fixture(scope="module")
def http(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=60) as client:
        yield client


def api(http: httpx.Client, demo_hub: DemoHub, who: tuple[str, str], purpose: str) -> As:
    found = persona(*who)
    assert found is not None
    return As(http, demo_hub.settings, who[0], who[1], [r.value for r in found.roles], purpose)


def auditor_api(http: httpx.Client, demo_hub: DemoHub, purpose: str = "audit") -> As:
    return api(http, demo_hub, AUDITOR, purpose)


def signed_in(browser_for: Any, who: tuple[str, str] = AUDITOR) -> Browser:
    b: Browser = browser_for()
    b.demo_login(*who)
    return b


def newest(http: httpx.Client, demo_hub: DemoHub, **filters: str) -> dict[str, Any]:
    """The newest entry matching `filters` (read by the API; that read is logged after it)."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {**filters, "limit": 1000}
        if cursor is not None:
            params["cursor"] = cursor
        page = ok(auditor_api(http, demo_hub).get("/api/v1/audit/entries", params=params))
        entries += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries[-1]


def size(http: httpx.Client, demo_hub: DemoHub) -> int:
    status: dict[str, Any] = ok(auditor_api(http, demo_hub).get("/api/v1/audit/status"))
    return int(status["size"])


def text_of(page: httpx.Response) -> str:
    """The visible text of a page (tags stripped), to look for codes a person would read."""
    return unescape(re.sub(r"<[^>]+>", " ", page.text))


# -- search -------------------------------------------------------------------------------------


def test_the_search_page_shows_the_api_answer_for_the_same_filters_in_words(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    params = {"casus": demo_hub.case_id, "handeling": "briefing.read", "uitkomst": "allowed"}
    page = b.get("/logboek", params=params)
    assert page.status_code == 200, page.text[:400]
    assert page.headers["cache-control"] == "no-store"
    shown = [int(s) for s in ROW.findall(page.text)]
    expected = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries",
            params={
                "case_id": demo_hub.case_id,
                "action": "briefing.read",
                "outcome": "allowed",
                "limit": 50,
            },
        )
    )["entries"]
    assert shown == [e["seq"] for e in expected] and shown
    visible = text_of(page)
    assert "Briefing ingezien" in visible and "toegestaan" in visible
    assert "Doel: controle van het logboek" in visible
    assert "briefing.read" not in visible and "allowed" not in visible
    # partner names, not ids; times on the Dutch clock
    assert "Politie" in visible
    assert re.search(r"\d{1,2} [a-z]+ 20\d\d, \d\d:\d\d:\d\d", visible)
    # the search is logged exactly as the API's query with these filters
    logged = newest(http, demo_hub, user="auditor-1", action="log.query", purpose="audit")
    before_api = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"user": "auditor-1", "action": "log.query", "limit": 1000},
            )
        )["entries"]
        if e["reason"] == "query by case_id, action, outcome"
    ]
    assert len(before_api) >= 2  # the page's and the API's: the same entry
    page_entry, api_entry = before_api[-2], before_api[-1]
    for key in ("action", "outcome", "purpose", "reason", "case_id", "actor_user", "actor_roles"):
        assert page_entry[key] == api_entry[key], key
    assert logged["seq"] > api_entry["seq"] - 1


def test_the_cursor_pages_on_with_the_same_filters_and_a_foreign_cursor_is_refused(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    first = b.get("/logboek", params={"casus": demo_hub.case_id})
    link = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert link, "a case with more than 50 entries has a next page"
    href = unescape(link.group(1))
    assert f"casus={demo_hub.case_id}" in href and "na=" in href
    second = b.get(href)
    assert second.status_code == 200
    page_seqs = [int(s) for s in ROW.findall(second.text)]
    one = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries", params={"case_id": demo_hub.case_id, "limit": 50}
        )
    )
    two = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries",
            params={"case_id": demo_hub.case_id, "limit": 50, "cursor": one["next_cursor"]},
        )
    )
    # the log grows meanwhile (each query names the case): the page is the API's page as far
    # as the log reached when the page was read
    assert page_seqs and page_seqs == [e["seq"] for e in two["entries"]][: len(page_seqs)]
    assert page_seqs[0] > one["entries"][-1]["seq"] - 1
    token = href.split("na=")[1]
    # the same cursor with other filters: refused, nothing listed
    mixed = b.get("/logboek", params={"organisatie": "politie", "na": token})
    assert mixed.status_code == 400 and not ROW.findall(mixed.text)
    assert "andere zoekvraag" in mixed.text
    # a forged position with the query's own filters: refused
    seq, mac = token.split(".")
    forged = b.get("/logboek", params={"casus": demo_hub.case_id, "na": f"{int(seq) - 20}.{mac}"})
    assert forged.status_code == 400
    # another session's cursor for the very same query: refused
    other = signed_in(browser_for)
    assert other.get(href).status_code == 400


def test_bad_filters_answer_400_with_an_error_summary_and_query_nothing(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    before = size(http, demo_hub)
    page = b.get("/logboek", params={"handeling": "drop table", "van": "gisteren"})
    assert page.status_code == 400
    assert 'href="#field-handeling"' in page.text and 'href="#field-van"' in page.text
    after = size(http, demo_hub)
    assert after == before + 1  # only the size read of this test itself
    # the ends of the calendar overflow when moved to UTC: a 400 with words, not a 500
    for moment in ("0001-01-01T00:00", "1899-12-31T23:59", "9999-12-31T23:59+00:00"):
        far = b.get("/logboek", params={"van": moment})
        assert far.status_code == 400, moment
        assert 'href="#field-van"' in far.text and "tussen het jaar 1900 en 9000" in far.text
    far = b.get("/logboek", params={"tot": "0001-01-01T00:00:00-05:00"})
    assert far.status_code == 400 and 'href="#field-tot"' in far.text
    assert size(http, demo_hub) == after + 1


def test_the_subject_search_posts_the_identifiers_and_matches_the_api(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    form = b.get("/logboek")
    page = b.post(
        "/logboek/persoon",
        {"bsn": FATHER["bsn"], "naam": "", "geboortedatum": "", "csrf_token": b.csrf(form)},
    )
    assert page.status_code == 200, page.text[:400]
    shown = [int(s) for s in ROW.findall(page.text)]
    expected = ok(
        auditor_api(http, demo_hub).post(
            "/api/v1/audit/subject-queries", json={"bsn": FATHER["bsn"], "limit": 50}
        )
    )
    assert shown == [e["seq"] for e in expected["entries"]] and shown
    # the identifiers appear in no link or address of the page, only in the form it posts
    for href in re.findall(r'(?:href|action)="([^"]+)"', page.text):
        assert FATHER["bsn"] not in href
    logged = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"user": "auditor-1", "action": "log.query", "limit": 1000},
            )
        )["entries"]
        if e["reason"] == "query by subject"
    ]
    assert len(logged) >= 2
    assert logged[-2]["subject_pseudonyms"] == logged[-1]["subject_pseudonyms"]
    assert logged[-2]["subject_pseudonyms"]
    assert FATHER["bsn"] not in json.dumps(logged)


def test_the_subject_search_pages_on_by_post_and_refuses_another_persons_cursor(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    token = b.csrf(b.get("/logboek"))
    first = b.post("/logboek/persoon", {"bsn": FATHER["bsn"], "csrf_token": token})
    cursor = re.search(r'name="na" value="([^"]+)"', first.text)
    if cursor is None:
        pytest.skip("the demo's father has fewer than 50 entries")
    second = b.post(
        "/logboek/persoon", {"bsn": FATHER["bsn"], "na": cursor.group(1), "csrf_token": token}
    )
    assert second.status_code == 200
    mixed = b.post(
        "/logboek/persoon",
        {"naam": MOTHER["name"], "geboortedatum": MOTHER["date_of_birth"], "na": cursor.group(1)}
        | {"csrf_token": token},
    )
    assert mixed.status_code == 400 and not ROW.findall(mixed.text)


# -- an entry -------------------------------------------------------------------------------------


def test_an_entry_page_shows_its_fields_and_a_passing_proof_check_like_the_api(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    target = newest(http, demo_hub, case_id=demo_hub.case_id, action="briefing.read")
    b = signed_in(browser_for)
    page = b.get(f"/logboek/{target['seq']}")
    assert page.status_code == 200, page.text[:400]
    detail = ok(auditor_api(http, demo_hub).get(f"/api/v1/audit/entries/{target['seq']}"))
    assert detail["check"] == {
        "ok": True,
        "tree_size": detail["inclusion"]["tree_size"],
        "problem": None,
    }
    visible = " ".join(text_of(page).split())
    assert "Deze regel staat onveranderd in het logboek: opgenomen in controlepunt van" in visible
    assert f"met {detail['inclusion']['tree_size']} regels, ondertekend door de hub" in visible
    assert "de controle klopt" in visible
    assert "Briefing ingezien" in visible and demo_hub.case_id in visible
    assert detail["entry"]["leaf_hash"] in page.text
    for h in detail["inclusion"]["proof"]:
        assert h in page.text
    reads = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"user": "auditor-1", "action": "log.query", "limit": 1000},
            )
        )["entries"]
        if e["reason"] == f"entry {target['seq']} with inclusion proof"
    ]
    assert len(reads) == 2  # the page's read and the API's, logged alike
    assert reads[0]["case_id"] == reads[1]["case_id"] == demo_hub.case_id
    assert b.get("/logboek/99999999").status_code == 404


def _good_input(http: httpx.Client, demo_hub: DemoHub) -> tuple[ProofInput, str, str]:
    """A real entry (export form), its proof and checkpoint, and the hub's key and origin."""
    detail = ok(auditor_api(http, demo_hub).get("/api/v1/audit/entries/3"))
    lines = auditor_api(http, demo_hub).get("/api/v1/audit/export").text.splitlines()
    header = json.loads(lines[0])
    stored = next(
        json.loads(line)["entry"]
        for line in lines[1:]
        if '"type":"entry"' in line and json.loads(line)["entry"]["seq"] == 3
    )
    given = ProofInput(
        entry=stored,
        leaf_hash=detail["inclusion"]["leaf_hash"],
        proof=detail["inclusion"]["proof"],
        tree_size=detail["inclusion"]["tree_size"],
        note=detail["inclusion"]["checkpoint"]["note"],
    )
    return given, header["verifier_key"], header["origin"]


def test_a_tampered_entry_proof_or_checkpoint_fails_the_check_with_words(
    http: httpx.Client, demo_hub: DemoHub
) -> None:
    from dataclasses import replace

    given, key, origin = _good_input(http, demo_hub)
    assert check_inclusion(given, key, origin).ok
    changed = dict(given.entry) | {"actor_user": "someone-else"}
    note = given.note
    body, _, block = note.partition("\n\n")
    lines = body.split("\n")
    forged_note = "\n".join([lines[0], str(int(lines[1]) + 1), lines[2]]) + "\n\n" + block
    flipped = list(given.proof)
    flipped[0] = ("0" if flipped[0][0] != "0" else "1") + flipped[0][1:]
    cases = {
        ProofProblem.ENTRY_CHANGED: replace(given, entry=changed),
        ProofProblem.SIGNATURE: replace(given, note=forged_note),
        ProofProblem.PROOF: replace(given, proof=flipped),
        ProofProblem.CHECKPOINT_MISMATCH: replace(given, tree_size=given.tree_size + 1),
    }
    for problem, altered in cases.items():
        verdict = check_inclusion(altered, key, origin)
        assert not verdict.ok and verdict.problem is problem, problem
        assert labels.PROOF_PROBLEM[problem.value]
    assert check_inclusion(given, key, "another.example/log").problem is ProofProblem.OTHER_LOG
    assert {p.value for p in ProofProblem} == set(labels.PROOF_PROBLEM)


def test_the_entry_page_words_a_failed_check(demo_hub: DemoHub) -> None:
    """The page's template with a failing verdict: the failure in words, no success text."""
    from hub.web.core import build_templates

    env = build_templates()
    detail = {
        "entry": {"seq": 3, "action": "case.read"},
        "check": {"ok": False, "tree_size": 9, "problem": "proof"},
        "inclusion": {
            "proof": [],
            "tree_size": 9,
            "checkpoint": {"root_hash": "ab", "verifier_key": "k", "note": "n"},
        },
    }
    html = env.get_template("log_entry.html").render(
        request_path="/logboek/3",
        user=None,
        csrf_token=None,
        purpose=None,
        demo=False,
        detail=detail,
        rows=[],
        signed_at="5 december 2026, 14:00:00",
        problem=labels.PROOF_PROBLEM["proof"],
        action_word=lambda code: labels.LOG_ACTION[code],
    )
    assert "De controle klopt niet." in html
    assert "Het bewijs leidt niet naar het ondertekende controlepunt" in html
    assert "onveranderd in het logboek" not in html


def test_every_action_and_outcome_has_words() -> None:
    assert set(labels.LOG_ACTION) == {a.value for a in Action}
    assert set(labels.OUTCOME) == {"allowed", "denied", "error"}


# -- status and exports ---------------------------------------------------------------------


def test_the_status_page_matches_the_api_and_a_verification_run_is_logged(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    page = b.get("/logboek/status")
    assert page.status_code == 200
    status = ok(auditor_api(http, demo_hub).get("/api/v1/audit/status"))
    visible = " ".join(text_of(page).split())
    assert "geen getuigen ingesteld" in visible and status["cosigners"] == []
    assert f"{status['checkpoint']['tree_size']} regels, ondertekend op" in visible
    # a verification without the CSRF token changes nothing
    before = newest(http, demo_hub, action="log.verify") if status["last_verification"] else None
    refused = b.post("/logboek/status/controle", {})
    assert refused.status_code == 403
    after = ok(auditor_api(http, demo_hub).get("/api/v1/audit/status"))["last_verification"]
    assert (after or {}).get("seq") == (before or {}).get("seq")
    done = b.post("/logboek/status/controle", {"csrf_token": b.csrf(page)})
    assert done.status_code == 303 and done.headers["location"] == "/logboek/status?gecontroleerd=1"
    entry = newest(http, demo_hub, action="log.verify")
    assert entry["actor_user"] == "auditor-1" and entry["purpose"] == "audit"
    assert entry["reason"].startswith("live verification: ok;")
    shown = " ".join(text_of(b.get("/logboek/status?gecontroleerd=1")).split())
    assert "in orde op" in shown and f"logregel {entry['seq']}" in shown


def test_the_exports_are_the_apis_files_and_are_logged(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    full = b.get("/logboek/export", params={"formaat": "controleerbaar"})
    assert full.status_code == 200 and "attachment" in full.headers["content-disposition"]
    assert json.loads(full.text.splitlines()[0])["format"] == "vhhub-access-log-export/1"
    logged = newest(http, demo_hub, action="log.export", user="auditor-1")
    assert logged["reason"] == "full verifiable export"
    csv = b.get("/logboek/export", params={"formaat": "csv", "casus": demo_hub.case_id})
    api_csv = auditor_api(http, demo_hub).get(
        "/api/v1/audit/export", params={"format": "csv", "case_id": demo_hub.case_id}
    )
    assert csv.status_code == 200
    assert csv.text.splitlines()[:40] == api_csv.text.splitlines()[:40]
    exports = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries", params={"action": "log.export", "limit": 1000}
            )
        )["entries"]
        if e["reason"] == "csv query by case_id"
    ]
    assert len(exports) >= 2 and exports[-2]["actor_user"] == "auditor-1"
    assert b.get("/logboek/export", params={"formaat": "xml"}).status_code == 400


# -- the art. 15 report ---------------------------------------------------------------------------


def test_the_report_page_is_the_apis_report_in_plain_dutch(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    form = b.get("/inzage")
    assert form.status_code == 200
    page = b.post(
        "/inzage",
        {
            "naam": MOTHER["name"],
            "geboortedatum": MOTHER["date_of_birth"],
            "formaat": "html",
            "csrf_token": b.csrf(form),
        },
    )
    assert page.status_code == 200, page.text[:400]
    assert page.headers["cache-control"] == "no-store"
    lines = [
        json.loads(line)
        for line in auditor_api(http, demo_hub, "subject_access")
        .post("/api/v1/audit/subject-access-reports", json=MOTHER)
        .text.splitlines()
    ]
    acts = [line for line in lines if line["type"] == "act"]
    visible = " ".join(text_of(page).split())
    for act in acts:
        for line in act["lines"]:
            assert " ".join(line["text"].split()) in visible
    assert "Doel: inzageverzoek" in visible
    for code in ("briefing.read", "police.", "housing.", "summary", "case_conference", "allowed"):
        assert code not in visible, code
    assert re.search(
        r"\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|"
        r"september|oktober|november|december) 20\d\d",
        visible,
    )
    reports = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"action": "subject_access.report", "limit": 1000},
            )
        )["entries"]
    ]
    assert reports[-1]["subject_pseudonyms"] == reports[-2]["subject_pseudonyms"]
    assert reports[-2]["actor_user"] == "auditor-1" and reports[-2]["purpose"] == "subject_access"


def test_the_report_pdf_holds_the_same_report(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    form = b.get("/inzage")
    pdf = b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "pdf", "csrf_token": b.csrf(form)})
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    api_pdf = auditor_api(http, demo_hub, "subject_access").post(
        "/api/v1/audit/subject-access-reports/pdf", json=FATHER
    )
    assert api_pdf.status_code == 200 and api_pdf.content.startswith(b"%PDF")
    pypdf = pytest.importorskip("pypdf")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Inzageoverzicht persoonsgegevens" in text
    assert "Autoriteit Persoonsgegevens" in text
    assert FATHER["bsn"] not in text


def test_a_report_form_without_identifiers_or_csrf_changes_nothing(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    b = signed_in(browser_for)
    form = b.get("/inzage")
    before = size(http, demo_hub)
    empty = b.post("/inzage", {"formaat": "html", "csrf_token": b.csrf(form)})
    assert empty.status_code == 400 and 'href="#field-bsn"' in empty.text
    bad_date = b.post(
        "/inzage", {"naam": "X", "geboortedatum": "31-31-31", "csrf_token": b.csrf(form)}
    )
    assert bad_date.status_code == 400 and "31-31-31" not in bad_date.text.split("value=")[0]
    forged = b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "html"})
    assert forged.status_code == 403 and "Inzageoverzicht persoonsgegevens" not in forged.text
    made = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries",
            params={"action": "subject_access.report", "cursor": before - 1, "limit": 1000},
        )
    )["entries"]
    assert made == []  # neither the empty, the malformed nor the forged form made a report
    forged_search = b.post("/logboek/persoon", {"bsn": FATHER["bsn"]})
    assert forged_search.status_code == 403 and not ROW.findall(forged_search.text)
    searched = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries",
            params={"action": "log.query", "cursor": before - 1, "limit": 1000},
        )
    )["entries"]
    assert not [e for e in searched if e["reason"] == "query by subject"]


# -- attackers ------------------------------------------------------------------------------------


def _session_token(b: Browser) -> str:
    """The session's CSRF token, from any page of the person's own that carries a form."""
    for path in ("/casussen", "/beleid", "/signalen"):
        page = b.get(path)
        if 'name="csrf_token"' in page.text:
            return b.csrf(page)
    raise AssertionError("no page with the session's CSRF token")


@pytest.mark.parametrize("who", list(ATTACKERS), ids=list(ATTACKERS))
def test_other_roles_get_the_403_page_and_nothing_of_the_log(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, who: str
) -> None:
    partner, user = ATTACKERS[who]
    b = signed_in(browser_for, ATTACKERS[who])
    start = size(http, demo_hub)
    pages = [
        b.get("/logboek"),
        b.get("/logboek", params={"casus": demo_hub.case_id}),
        b.get("/logboek/3"),
        b.get("/logboek/status"),
        b.get("/logboek/export"),
        b.get("/logboek/export", params={"formaat": "csv"}),
        b.get("/inzage"),
    ]
    token = _session_token(b)
    pages += [
        b.post("/logboek/persoon", {"bsn": FATHER["bsn"], "csrf_token": token}),
        b.post("/logboek/status/controle", {"csrf_token": token}),
        b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "html", "csrf_token": token}),
        b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "pdf", "csrf_token": token}),
    ]
    for page in pages:
        assert page.status_code == 403, (page.request.url, page.status_code)
        assert "Dit mag u niet doen" in page.text
        assert not ROW.findall(page.text) and "controlepunt" not in page.text.lower()
        assert "%PDF" not in page.text[:10] and "vhhub-access-log-export" not in page.text
    refusals = ok(
        auditor_api(http, demo_hub).get(
            "/api/v1/audit/entries", params={"user": user, "outcome": "denied", "limit": 1000}
        )
    )["entries"]
    refusals = [e for e in refusals if e["seq"] >= start]
    # every page that reached the service is a logged refusal (the empty report form is
    # refused by the page itself: it queries nothing)
    assert len(refusals) == len(pages) - 1
    assert {e["action"] for e in refusals} <= {
        "log.query",
        "log.export",
        "subject_access.report",
    }
    assert all(e["actor_partner"] == partner for e in refusals)


# -- identifiers stay out of URLs, stored queries and server logs --------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


def test_identifiers_never_reach_a_url_the_log_or_a_server_log_line(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        b = signed_in(browser_for)
        token = b.csrf(b.get("/inzage"))
        start = size(http, demo_hub)
        answers = [
            b.post("/logboek/persoon", {"bsn": FATHER["bsn"], "csrf_token": token}),
            b.post(
                "/logboek/persoon",
                {"naam": MOTHER["name"], "geboortedatum": "1988-04-12"} | {"csrf_token": token},
            ),
            b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "html", "csrf_token": token}),
            b.post("/inzage", {"bsn": FATHER["bsn"], "formaat": "pdf", "csrf_token": token}),
            b.post("/inzage", {"bsn": "123", "formaat": "html", "csrf_token": token}),
            b.post(
                "/inzage",
                {"naam": MOTHER["name"], "geboortedatum": "1988-13-40"} | {"csrf_token": token},
            ),
        ]
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        reporter = auditor_api(http, demo_hub, "subject_access")
        refused_api = [
            reporter.post("/api/v1/audit/subject-access-reports/pdf", json=body)
            for body in (
                {"bsn": "111222334"},
                {"name": MOTHER["name"], "date_of_birth": "1988-13-40"},
                {"bsn": FATHER["bsn"], "extra": MOTHER["name"]},
            )
        ]
        answers += refused_api
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 400, 400, 400, 400]
    for refused in refused_api:  # the API's error documents repeat nothing of the body
        assert all(s not in refused.text for s in (*SECRETS, "111222334")), refused.text
    for answer in answers:
        assert all(s not in str(answer.url) for s in SECRETS)
        assert all(s not in answer.headers.get("location", "") for s in SECRETS)
        for href in re.findall(r'(?:href|action)="([^"]+)"', answer.text):
            assert all(s not in href for s in SECRETS)
    # the messages of the refused forms do not repeat what was typed
    for refused in answers[4:6]:
        summary = refused.text.split('id="error-summary"')[1].split("</div>")[0]
        assert "123" not in summary and MOTHER["name"] not in summary
    stored = auditor_api(http, demo_hub).get("/api/v1/audit/export").text
    assert all(s not in stored for s in SECRETS)
    assert size(http, demo_hub) > start
    logged = "\n".join(capture.lines)
    assert capture.lines, "the server logged nothing at all: the capture is broken"
    for secret in SECRETS:
        assert secret not in logged, secret
    for word in ("Inzageoverzicht", "Autoriteit Persoonsgegevens", "ingezien"):
        assert word not in logged, word


# -- the API routes the pages stand on ------------------------------------------------------------

NEW_API_CALLS = {
    "entry": lambda who: who.get("/api/v1/audit/entries/3"),
    "status": lambda who: who.get("/api/v1/audit/status"),
    "verification": lambda who: who.post("/api/v1/audit/verifications"),
    "report pdf": lambda who: who.post(
        "/api/v1/audit/subject-access-reports/pdf", json=FATHER, purpose="subject_access"
    ),
}


@pytest.mark.parametrize("who", list(ATTACKERS), ids=list(ATTACKERS))
def test_the_new_api_routes_refuse_every_other_role_and_log_it(
    http: httpx.Client, demo_hub: DemoHub, who: str
) -> None:
    caller = api(http, demo_hub, ATTACKERS[who], "audit")
    start = size(http, demo_hub)
    for what, call in NEW_API_CALLS.items():
        answer = call(caller)
        assert answer.status_code == 403, (what, answer.status_code)
        assert "%PDF" not in answer.text[:8] and "tree_size" not in answer.text
    denied = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"user": ATTACKERS[who][1], "outcome": "denied", "limit": 1000},
            )
        )["entries"]
        if e["seq"] >= start
    ]
    assert len(denied) == len(NEW_API_CALLS)


def test_the_report_pdf_route_of_the_api_is_logged_like_the_others(
    http: httpx.Client, demo_hub: DemoHub
) -> None:
    reporter = auditor_api(http, demo_hub, "subject_access")
    start = size(http, demo_hub)
    pdf = reporter.post("/api/v1/audit/subject-access-reports/pdf", json=MOTHER)
    assert pdf.status_code == 200 and pdf.headers["cache-control"] == "no-store"
    jsonl = reporter.post("/api/v1/audit/subject-access-reports", json=MOTHER)
    assert jsonl.status_code == 200
    made = [
        e
        for e in ok(
            auditor_api(http, demo_hub).get(
                "/api/v1/audit/entries",
                params={"action": "subject_access.report", "cursor": start - 1},
            )
        )["entries"]
    ]
    assert len(made) == 2
    for key in ("subject_pseudonyms", "reason", "purpose", "actor_user", "outcome"):
        assert made[0][key] == made[1][key], key


def test_ages_read_as_plain_dutch() -> None:
    from hub.web.log_pages import age_words

    assert [age_words(s) for s in (1, 59, 600, 7200, 3 * 86400)] == [
        "1 seconde",
        "59 seconden",
        "10 minuten",
        "2 uur",
        "3 dagen",
    ]
