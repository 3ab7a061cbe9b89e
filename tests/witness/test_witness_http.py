"""Partners as witnesses over real HTTP (issue 21 item 3): `vhhub witness run` fetches the
newest checkpoint and a consistency proof, cosigns, and the hub serves the cosignatures with
the checkpoint; `vhhub audit verify --witness ... --min-witnesses K` requires them, live and
offline; a split view (two logs under one key) is caught by the next witness run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.witness import cosign, parse_witness_key, valid_cosigners
from hub.audit.witness_cli import SPLIT_VIEW_EXIT
from hub.audit.witness_client import WitnessState
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.support import As, ok
from tests.witness.helpers import cli, fork_settings, make_witness, second_database

if TYPE_CHECKING:
    from tests.conftest import TestDatabase


def auditor(http: httpx.Client, settings: Settings) -> As:
    return As(http, settings, "zvh", "aud-1", ["auditor"], "audit")


def newest_note(hub: RunningHub) -> Any:
    with hub.client() as http:
        return ok(auditor(http, hub.settings).get("/api/v1/audit/status"))["checkpoint"]


def test_witnesses_cosign_and_the_hub_serves_their_cosignatures(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_witness(hub, "politie", tmp_path, monkeypatch)
    b = make_witness(hub, "om", tmp_path, monkeypatch)
    first = a.run(hub)
    assert first.exit_code == 0, first.output
    second = b.run(hub)
    assert second.exit_code == 0, second.output
    status = newest_note(hub)
    note = status["note"]
    # the hub's own signature still verifies with cosignatures appended (one C2SP note)
    parse_and_verify_checkpoint(note, status["verifier_key"])
    cosigners = valid_cosigners(note, [parse_witness_key(a.vkey), parse_witness_key(b.vkey)])
    assert {c.key.name for c in cosigners} == {"witness.politie.example", "witness.om.example"}
    # each witness remembered the checkpoint it cosigned, and moves on from there next time
    seen = WitnessState(a.state).data["logs"]
    assert next(iter(seen.values()))["size"] <= status["tree_size"]
    again = a.run(hub)
    assert again.exit_code == 0, again.output


def test_only_registered_witnesses_may_cosign_and_forgeries_are_refused(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_witness(hub, "politie", tmp_path, monkeypatch)
    b = make_witness(hub, "om", tmp_path, monkeypatch)
    settings = hub.settings
    with hub.client() as http:
        stranger = As(http, settings, "ggz", "w", ["participant"], "audit")
        refused = stranger.get("/api/v1/audit/witness/checkpoints/latest")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        politie = As(http, settings, "politie", "w", ["participant"], "audit")
        view = ok(politie.get("/api/v1/audit/witness/checkpoints/latest"))
        size, note = view["tree_size"], view["note"]
        key_b = WitnessState(b.state).key
        # B's valid cosignature, sent by politie: not politie's key, refused
        by_b = cosign(note, key_b, "witness.om.example", int(time.time())).rstrip("\n")
        wrong = politie.post(
            f"/api/v1/audit/checkpoints/{size}/cosignatures", json={"cosignature": by_b}
        )
        assert wrong.status_code == 400
        # politie's key over another checkpoint's body, relabelled: does not verify
        key_a = WitnessState(a.state).key
        other = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
        forged = cosign(other, key_a, "witness.politie.example", int(time.time())).rstrip("\n")
        bad = politie.post(
            f"/api/v1/audit/checkpoints/{size}/cosignatures", json={"cosignature": forged}
        )
        assert bad.status_code == 400
        future = cosign(note, key_a, "witness.politie.example", int(time.time()) + 3600)
        late = politie.post(
            f"/api/v1/audit/checkpoints/{size}/cosignatures",
            json={"cosignature": future.rstrip("\n")},
        )
        assert late.status_code == 400
        good = cosign(note, key_a, "witness.politie.example", int(time.time())).rstrip("\n")
        stored = ok(
            politie.post(
                f"/api/v1/audit/checkpoints/{size}/cosignatures", json={"cosignature": good}
            )
        )
    assert stored["note"].count("— witness.") == 1
    assert good in newest_note(hub)["note"] or newest_note(hub)["tree_size"] > size
    # every refusal is in the access log, denied, under who tried: a forged cosignature is
    # what an auditor of the witnesses looks for
    with hub.client() as http:
        auditor = As(http, settings, "zvh", "aud-1", ["auditor"], "audit")
        denied = ok(auditor.get("/api/v1/audit/entries?outcome=denied&limit=100"))["entries"]
    witness_refusals = sorted(
        (e["actor_partner"], e["action"])
        for e in denied
        if (e.get("reason") or "").startswith("witness:")
    )
    assert witness_refusals == [
        ("ggz", "log.query"),
        ("politie", "checkpoint.sign"),
        ("politie", "checkpoint.sign"),
        ("politie", "checkpoint.sign"),
    ]


def test_audit_verify_requires_the_witnesses_live_and_offline(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = hub.settings
    a = make_witness(hub, "politie", tmp_path, monkeypatch)
    b = make_witness(hub, "om", tmp_path, monkeypatch)
    two = ["--witness", a.vkey, "--witness", b.vkey, "--min-witnesses", "2"]
    assert a.run(hub).exit_code == 0
    only_a = cli(settings, monkeypatch, "audit", "verify", *two)
    assert only_a.exit_code == 1
    assert "no checkpoint carries valid cosignatures of 2" in only_a.output
    assert b.run(hub).exit_code == 0
    live = cli(settings, monkeypatch, "audit", "verify", *two)
    assert live.exit_code == 0, live.output
    # a witness key given twice counts once
    twice = cli(
        settings,
        monkeypatch,
        "audit",
        "verify",
        "--witness",
        a.vkey,
        "--witness",
        a.vkey,
        "--min-witnesses",
        "2",
    )
    assert twice.exit_code == 2
    export = tmp_path / "log.jsonl"
    assert cli(settings, monkeypatch, "audit", "export", str(export)).exit_code == 0
    vkey = cli(settings, monkeypatch, "audit", "public-key").output.strip()
    offline = cli(settings, monkeypatch, "audit", "verify", str(export), "--public-key", vkey, *two)
    assert offline.exit_code == 0, offline.output
    # the same export with a cosignature stripped from every checkpoint: B never vouched
    stripped = tmp_path / "stripped.jsonl"
    lines = []
    for line in export.read_text().splitlines(keepends=True):
        obj = json.loads(line)
        if obj.get("type") == "checkpoint":
            obj["note"] = "".join(
                ln
                for ln in obj["note"].splitlines(keepends=True)
                if not ln.startswith("— witness.om.")
            )
            line = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        lines.append(line)
    stripped.write_text("".join(lines))
    refused = cli(
        settings, monkeypatch, "audit", "verify", str(stripped), "--public-key", vkey, *two
    )
    assert refused.exit_code == 1
    assert "split view" in refused.output


@pytest.mark.parametrize(
    ("every", "politie_sees"),
    [
        (256, "is not consistent with the one of size"),  # same size, another root
        (1, "rolled back"),  # a checkpoint per entry: A grew past B, B looks rolled back
    ],
)
def test_a_split_view_is_caught_by_the_next_witness_run(
    every: int,
    politie_sees: str,
    db_url: str,
    test_database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One signing key, two databases: hub A shows witness politie one log, hub B (the same
    origin and key) shows witness om a forked log. When politie is next shown B's log, its
    run refuses to cosign (exit 3), keeps the evidence, and leaves its memory as it was; an
    auditor requiring both witnesses fails either log."""
    from hub.setup import initialise

    initialised = Settings(data_dir=tmp_path / "data", database_url=db_url, checkpoint_every=every)
    initialise(initialised)
    with second_database(test_database, tmp_path) as fork_url:
        forked = fork_settings(initialised, fork_url, tmp_path)
        with RunningHub(initialised) as hub_a, RunningHub(forked) as hub_b:
            politie = make_witness(hub_a, "politie", tmp_path / "a", monkeypatch)
            om = make_witness(hub_b, "om", tmp_path / "b", monkeypatch)
            # both hubs know both witnesses: the operator registers them on "the" hub
            assert (
                cli(
                    forked, monkeypatch, "audit", "witnesses", "add", "politie", politie.vkey
                ).exit_code
                == 0
            )
            assert (
                cli(initialised, monkeypatch, "audit", "witnesses", "add", "om", om.vkey).exit_code
                == 0
            )
            # the logs diverge: different acts on each
            with hub_a.client() as http:
                for _ in range(8):
                    ok(auditor(http, initialised).get("/api/v1/audit/checkpoints/latest"))
            with hub_b.client() as http:
                ok(auditor(http, forked).get("/api/v1/audit/status"))
            assert politie.run(hub_a).exit_code == 0
            assert om.run(hub_b).exit_code == 0
            remembered = json.loads((politie.state / "witness.json").read_text())["logs"]
            # the hub now shows politie the other log (as if it answered per caller)
            caught = politie.run(hub_b)
            assert caught.exit_code == SPLIT_VIEW_EXIT, caught.output
            assert "SPLIT VIEW" in caught.output
            evidence = list((politie.state / "evidence").glob("*.json"))
            assert len(evidence) == 1
            found = json.loads(evidence[0].read_text())
            assert found["seen"]["note"] and found["shown"]["note"]
            assert politie_sees in found["problem"], found["problem"]
            after = json.loads((politie.state / "witness.json").read_text())["logs"]
            assert after == remembered  # nothing learnt from the forked log
            # and om, shown A's log, catches it too
            assert om.run(hub_a).exit_code == SPLIT_VIEW_EXIT
            (om_evidence,) = (om.state / "evidence").glob("*.json")
            assert "is not consistent" in json.loads(om_evidence.read_text())["problem"]
            # B's log carries om's cosignature only: an auditor who needs both refuses it
            two = ["--witness", politie.vkey, "--witness", om.vkey, "--min-witnesses", "2"]
            on_b = cli(forked, monkeypatch, "audit", "verify", *two)
            assert on_b.exit_code == 1 and "split view" in on_b.output
            on_a = cli(initialised, monkeypatch, "audit", "verify", *two)
            assert on_a.exit_code == 1
