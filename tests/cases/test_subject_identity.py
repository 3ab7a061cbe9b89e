"""Who a case is about, through the one door: each viewer sees the subjects' identifying data
and the registration reason only as far as the policy's identity decision releases them, and
the access log names exactly what left, per subject."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.cases.test_workflow import CRITERIA, actor, log_rows
from tests.conftest import RunningHub
from tests.support import inform_all, ok

BSN = "111222333"
NAME = "Jan Jansen"
ADDRESS = "Dorpsstraat 1, 1234 AB Ergens"
REASON = "Aanhoudende overlast en schulden"


def register(http: httpx.Client, hub: RunningHub) -> tuple[str, str]:
    police = actor(http, hub.settings, "politie", "intake")
    case = ok(
        police.post(
            "/api/v1/cases",
            json={
                "kind": "person",
                "proposed_table": "multi_problem",
                "reason": REASON,
                "subjects": [
                    {
                        "role_in_case": "resident",
                        "bsn": BSN,
                        "name": NAME,
                        "date_of_birth": "1980-02-03",
                        "address": ADDRESS,
                    }
                ],
            },
        ),
        201,
    )
    return case["id"], case["subjects"][0]["id"]


def read(
    http: httpx.Client, hub: RunningHub, cid: str, partner: str, purpose: str, **kw: Any
) -> Any:
    return ok(actor(http, hub.settings, partner, purpose, **kw).get(f"/api/v1/cases/{cid}"))


def to_phase(http: httpx.Client, hub: RunningHub, cid: str, phase: str) -> None:
    zvh = actor(http, hub.settings, "zvh", "intake", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    steps = ["screening", "preparation", "case_conference"]
    for step in steps[: steps.index(phase) + 1]:
        if step == "preparation":
            zvh = zvh.with_purpose("screening")
            ok(
                zvh.post(
                    f"/api/v1/cases/{cid}/triage", json={"criteria": CRITERIA, "decision": "accept"}
                )
            )
            for partner in ("woningcorporatie", "ggz"):
                ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
        if step == "case_conference":
            inform_all(zvh, cid)
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": step}))
        zvh = zvh.with_purpose(step)


def test_the_procesregisseur_sees_name_birth_date_and_reason_at_intake_but_never_the_bsn(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, sid = register(http, hub)
    zvh = actor(http, hub.settings, "zvh", "intake", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    case = ok(zvh.get(f"/api/v1/cases/{cid}"))
    subject = case["subjects"][0]
    assert (subject["name"], subject["date_of_birth"]) == (NAME, "1980-02-03")
    assert subject["bsn"] is None and subject["address"] is None
    assert subject["withheld"] == ["address", "bsn"]
    assert case["reason"] == REASON
    assert case["identity"]["rule"] == "identity_grant"
    assert BSN not in json.dumps(case)
    entry = log_rows(hub.settings, action="case.read", actor_partner="zvh")[-1]
    disclosed = json.loads(entry.disclosed) if isinstance(entry.disclosed, str) else entry.disclosed
    assert disclosed == {sid: ["date_of_birth", "name"], cid: ["reason"]}


def test_participants_see_nothing_identifying_before_preparation_and_names_from_preparation(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, _ = register(http, hub)
    to_phase(http, hub, cid, "preparation")
    housing = read(http, hub, cid, "woningcorporatie", "preparation")
    subject = housing["subjects"][0]
    assert (subject["name"], subject["date_of_birth"]) == (NAME, "1980-02-03")
    assert subject["bsn"] is None and subject["address"] is None
    assert housing["reason"] is None
    text = json.dumps(housing)
    assert BSN not in text and REASON not in text and ADDRESS not in text


def test_the_bsn_reaches_ggz_at_the_case_conference_but_never_the_housing_corporation(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, _ = register(http, hub)
    to_phase(http, hub, cid, "case_conference")
    ggz = read(http, hub, cid, "ggz", "case_conference")["subjects"][0]
    assert (ggz["bsn"], ggz["address"]) == (BSN, ADDRESS)
    housing = read(http, hub, cid, "woningcorporatie", "case_conference")
    assert housing["subjects"][0]["bsn"] is None
    assert housing["subjects"][0]["address"] == ADDRESS
    assert housing["identity"]["rule"] == "bsn_without_legal_basis"
    assert BSN not in json.dumps(housing)


def test_the_registering_partner_sees_what_it_registered(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, _ = register(http, hub)
    police = read(http, hub, cid, "politie", "intake")
    assert police["subjects"][0]["bsn"] == BSN
    assert police["reason"] == REASON


def test_an_outsider_gets_the_404_of_an_unknown_case_and_nothing_is_decrypted(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, _ = register(http, hub)
    response = actor(http, hub.settings, "ggz", "intake").get(f"/api/v1/cases/{cid}")
    assert response.status_code == 404
    assert NAME not in response.text and BSN not in response.text


def test_a_read_of_the_subjects_data_is_in_their_art15_report(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, _ = register(http, hub)
    to_phase(http, hub, cid, "preparation")
    read(http, hub, cid, "woningcorporatie", "preparation")
    auditor = actor(http, hub.settings, "zvh", "subject_access", ["auditor"], "aud-1")
    response = auditor.post("/api/v1/audit/subject-access-reports", json={"bsn": BSN})
    assert response.status_code == 200, response.status_code
    text = response.text
    assert "woningcorporatie" in text
    assert NAME not in text and BSN not in text
    reads = log_rows(hub.settings, action="case.read", actor_partner="woningcorporatie")
    assert reads and all(r.case_id == cid for r in reads)


def test_the_registering_partner_corrects_a_subject_and_the_old_version_is_kept_and_logged(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, sid = register(http, hub)
    police = actor(http, hub.settings, "politie", "intake")
    body = {
        "version": 1,
        "role_in_case": "resident",
        "bsn": BSN,
        "name": "Jan Janssen",
        "date_of_birth": "1980-02-03",
        "address": ADDRESS,
    }
    assert ok(police.put(f"/api/v1/cases/{cid}/subjects/{sid}", json=body)) == {
        "id": sid,
        "version": 2,
    }
    subject = ok(police.get(f"/api/v1/cases/{cid}"))["subjects"][0]
    assert (subject["name"], subject["version"]) == ("Jan Janssen", 2)
    # the same correction again is of a stale version: 409, nothing changes
    stale = police.put(f"/api/v1/cases/{cid}/subjects/{sid}", json=body | {"name": "X"})
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert ok(police.get(f"/api/v1/cases/{cid}"))["subjects"][0]["name"] == "Jan Janssen"
    entries = log_rows(hub.settings, action="case.correct_subject", outcome="allowed")
    assert [list(e.object_ids) for e in entries] == [[sid]]
    assert "Janssen" not in json.dumps([str(e.reason) for e in entries])
    # the subject is still found by the blind index of the corrected data
    auditor = actor(http, hub.settings, "zvh", "subject_access", ["auditor"], "aud-1")
    report = auditor.post("/api/v1/audit/subject-access-reports", json={"bsn": BSN})
    assert report.status_code == 200


def test_no_one_but_the_registering_partner_corrects_a_subject(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid, sid = register(http, hub)
    to_phase(http, hub, cid, "preparation")
    body = {
        "version": 1,
        "role_in_case": "resident",
        "name": "Iemand Anders",
        "date_of_birth": "1990-01-01",
    }
    ggz = actor(http, hub.settings, "ggz", "preparation")
    assert ggz.put(f"/api/v1/cases/{cid}/subjects/{sid}", json=body).status_code == 403
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    assert zvh.put(f"/api/v1/cases/{cid}/subjects/{sid}", json=body).status_code == 403
    outsider = actor(http, hub.settings, "om", "preparation")
    assert outsider.put(f"/api/v1/cases/{cid}/subjects/{sid}", json=body).status_code == 404
    police = actor(http, hub.settings, "politie", "preparation")
    _, other_sid = register(http, hub)
    # a subject of another case is the 404 of an unknown subject
    assert police.put(f"/api/v1/cases/{cid}/subjects/{other_sid}", json=body).status_code == 404
    assert ok(police.get(f"/api/v1/cases/{cid}"))["subjects"][0]["name"] == NAME
