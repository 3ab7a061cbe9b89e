"""`vhhub demo` as a newcomer runs it: on an empty data dir, through the real API, readable
in 100 columns, with a verified log, leaving a data dir that `vhhub serve` serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from tests.conftest import free_port


def vhhub(data_dir: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VHHUB_DATABASE_URL": db_url},
    )


def test_demo_plays_the_case_and_prints_a_readable_report(db_url: str, tmp_path: Path) -> None:
    result = vhhub(tmp_path / "data", db_url, "demo")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]
    text = result.stdout
    for expected in (
        "Wat ziet wie in de voorbereiding?",
        "Wat ziet wie in het casusoverleg?",
        "Integrale analyse en plan van aanpak",
        "verificatie van het hele log: in orde",
    ):
        assert expected in text
    # content never appears in the report: the GGZ diagnosis is never shared at all
    example = json.loads(Path("schemas/examples/mental_health.involvement.1.json").read_text())
    assert str(example["diagnosis"]) not in text


def test_demo_json_says_what_each_partner_sees_and_serve_continues(
    db_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    result = vhhub(data_dir, db_url, "demo", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    conference = report["briefings"]["case_conference"]
    levels = {p: {r["fact"]: r["level"] for r in b["facts"]} for p, b in conference.items()}
    # criminal-law data reaches the housing corporation at summary only
    assert levels["woningcorporatie"]["politie: incident"] == "summary"
    # health data never goes beyond summary to the police
    assert levels["politie"]["ggz: behandeling"] == "summary"
    # the publisher always sees its own facts in full
    assert levels["ggz"]["ggz: behandeling"] == "full"
    assert report["log"]["verification"]["ok"] is True
    assert report["plan"]["interventions"]
    # a newcomer plays the demo on any day: no intervention is already overdue
    today = date.today()
    deadlines = [date.fromisoformat(i["deadline"]) for i in report["plan"]["interventions"]]
    assert all(d > today for d in deadlines), deadlines
    # names reach the partners that may see them; the BSN only those with a legal basis
    father = {p: b["subjects"]["subjects"]["vader"] for p, b in conference.items()}
    assert father["politie"] == {
        "name": "Demo Vader",
        "date_of_birth": "1985-07-01",
        "bsn": "111222333",
    }
    assert father["woningcorporatie"]["name"] == "Demo Vader"
    assert father["woningcorporatie"]["bsn"] == "[niet gedeeld]"
    assert father["maatschappelijk-werk"]["bsn"] == "[niet gedeeld]"
    preparation = report["briefings"]["preparation"]
    assert preparation["ggz"]["subjects"]["subjects"]["vader"]["bsn"] == "[niet gedeeld]"

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "--data-dir", str(data_dir), "serve", "--port", str(port)],
        env={**os.environ, "VHHUB_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "vhhub serve did not come up"
                time.sleep(0.2)
        assert ready.status_code == 200, ready.text
    finally:
        server.terminate()
        server.wait(timeout=10)
