"""`/metrics` for Prometheus and the optional OpenTelemetry traces (issue 19, item 5).

Over real HTTP against a real hub: the numbers an operator watches move when a publish, a
briefing and a refusal happen; a scrape after such a scenario holds no case id, fact id, BSN,
pseudonym, user or request id; only a caller with the metrics token may scrape, and without
the setting there is no /metrics at all. With `VHHUB_OTEL_ENABLED` a request's span reaches
an OTLP receiver on loopback in the W3C trace the caller sent."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text

from hub.app import create_app
from hub.audit.models import LogHead, LogSubject
from hub.settings import PROJECT_ROOT, Settings
from tests.cases.test_workflow import actor, log_rows, new_case, publish
from tests.conftest import RunningHub, free_port
from tests.rego.opa_test_double import running_double

TOKEN = "m" * 20 + "-scrape-token-for-tests-only"
BSN = "123456782"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(body: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(snapshot: Samples, name: str, **labels: str) -> float:
    return snapshot.get((name, frozenset(labels.items())), 0.0)


def scrape(http: httpx.Client) -> str:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
def metrics_hub(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHub]:
    monkeypatch.setenv("VHHUB_METRICS_TOKEN", TOKEN)
    with RunningHub(initialised) as running:
        yield running


def test_the_metrics_move_with_a_scenario_and_name_no_one(metrics_hub: RunningHub) -> None:
    settings = metrics_hub.settings
    with metrics_hub.client() as http:
        before = samples(scrape(http))
        case = new_case(http, settings, bsn=BSN)
        fact_id = publish(
            http, settings, case["id"], "politie", "police.nuisance_report/1", "metrics-1"
        )
        housing = actor(http, settings, "woningcorporatie", "preparation")
        briefing = housing.get(f"/api/v1/cases/{case['id']}/briefing")
        assert briefing.status_code == 200
        # a refusal: a token that is no JWT, and a request without any
        garbage = http.get(
            f"/api/v1/cases/{case['id']}", headers={"Authorization": "Bearer not-a-jwt"}
        )
        assert garbage.status_code == 401
        assert http.get(f"/api/v1/cases/{case['id']}").status_code == 401
        # repeated refusals from one source are counted and logged as one aggregate entry
        # (ADR 0404) when their minute ends; a clean stop writes them too: do that now
        metrics_hub.context.flush_refusals(final=True)
        scraped = scrape(http)
    after = samples(scraped)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # request latency per route template: never the path with the case id in it
    facts_route = "/api/v1/cases/{case_id}/facts"
    count = "vhhub_http_request_duration_seconds_count"
    assert moved(count, method="POST", route=facts_route, status_class="2xx") == 1
    assert moved(count, method="GET", route="/api/v1/cases/{case_id}/briefing", status_class="2xx")
    # refused before routing: the route is not known, and the path is never a label
    assert moved(count, method="GET", route="unmatched", status_class="4xx") == 2
    # policy decisions: the publish and the briefing were allowed, the briefing's facts released
    decisions = "vhhub_policy_decisions_total"
    allowed = sum(
        value(after, decisions, action=a, outcome="allowed")
        - value(before, decisions, action=a, outcome="allowed")
        for a in {dict(k[1]).get("action", "") for k in after if k[0] == decisions}
    )
    assert allowed >= 2
    assert (
        sum(
            moved(decisions, action="release_fact", outcome=level)
            for level in ("none", "existence", "summary", "full")
        )
        >= 1
    )
    # access-log appends by action and outcome, and the head the database holds
    appends = "vhhub_access_log_appends_total"
    assert moved(appends, action="fact.publish", outcome="allowed") == 1
    assert moved(appends, action="briefing.read", outcome="allowed") == 1
    assert moved(appends, action="auth.failure", outcome="denied") >= 1
    # every unit of work that appended took the log head's lock, and let it go again
    for histogram in ("vhhub_access_log_lock_wait_seconds", "vhhub_access_log_lock_hold_seconds"):
        assert moved(f"{histogram}_count") >= 3
    # on PostgreSQL the briefing, which wrote nothing else, had its entry written by a group
    # commit (a batch of one here); on SQLite its entry stayed in its own unit of work
    grouped = 1 if not settings.effective_database_url.startswith("sqlite") else 0
    assert moved("vhhub_access_log_batch_entries_count") == grouped
    assert moved("vhhub_access_log_batch_entries_sum") == grouped
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            head_size = conn.execute(select(LogHead.size)).scalar_one()
            pseudonyms = set(conn.execute(select(LogSubject.pseudonym)).scalars())
    finally:
        engine.dispose()
    # the scrape read the head before its own (unlogged) request: nothing appended since
    assert value(after, "vhhub_access_log_head_size") == head_size
    assert value(after, "vhhub_log_state_up") == 1
    age = value(after, "vhhub_checkpoint_age_seconds")
    assert 0 <= age < 600
    # refusals by reason code
    assert moved("vhhub_refusals_total", reason="token:malformed") == 1
    assert moved("vhhub_refusals_total", reason="token:missing_bearer") == 1
    # the active policy version: what the hub serves, as a hash
    versions = [dict(k[1])["version"] for k in after if k[0] == "vhhub_policy_active_info"]
    entries = log_rows(settings, action="briefing.read")
    assert versions == [entries[-1].policy_version]

    # no identifier or content anywhere in the scrape
    rows = log_rows(settings)
    secret = {case["id"], fact_id, BSN, *pseudonyms}
    secret |= {r.actor_user for r in rows if r.actor_user}
    secret |= {r.request_id for r in rows if r.request_id}
    secret |= {r.source for r in rows if r.source and r.source != "127.0.0.1"}
    assert pseudonyms and len(secret) > 5
    leaked = sorted(s for s in secret if s in scraped)
    assert not leaked, leaked
    for kind in ("politie", "woningcorporatie", "zvh"):  # partners are not labels either
        assert kind not in scraped


def test_a_failing_policy_engine_counts_as_an_error_decision(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision the engine fails to give is counted (and the request denied, elsewhere)."""
    from hub.setup import initialise

    monkeypatch.setenv("VHHUB_METRICS_TOKEN", TOKEN)
    with running_double() as opa:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=db_url,
            policy_engine="opa",
            opa_url=opa.url,
            policy_timeout_s=0.3,
        )
        initialise(settings)
        with RunningHub(settings) as running, running.client() as http:
            case = new_case(http, settings)
            before = samples(scrape(http))
            opa.fault = "http_500"
            police = actor(http, settings, "politie", "preparation")
            refused = police.get(f"/api/v1/cases/{case['id']}")
            opa.fault = None
            after = samples(scrape(http))
    assert refused.status_code == 503
    errors = ("vhhub_policy_decisions_total", {"action": "engine", "outcome": "error"})
    assert value(after, errors[0], **errors[1]) - value(before, errors[0], **errors[1]) == 1
    appended = ("vhhub_access_log_appends_total", {"action": "policy.error", "outcome": "error"})
    assert value(after, appended[0], **appended[1]) - value(before, appended[0], **appended[1]) == 1


def test_a_scrape_without_the_log_says_so_and_still_answers(metrics_hub: RunningHub) -> None:
    """The log's head unreadable (here: its table renamed away): `vhhub_log_state_up` 0, no
    stale size or age, the counters still there, and no error text in the answer."""
    engine = create_engine(metrics_hub.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE access_log_head RENAME TO access_log_head_away"))
        try:
            with metrics_hub.client() as http:
                scraped = scrape(http)
        finally:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE access_log_head_away RENAME TO access_log_head"))
    finally:
        engine.dispose()
    after = samples(scraped)
    assert value(after, "vhhub_log_state_up") == 0
    assert ("vhhub_access_log_head_size", frozenset()) not in after
    assert ("vhhub_checkpoint_age_seconds", frozenset()) not in after
    assert "vhhub_http_request_duration_seconds" in scraped
    assert "access_log_head" not in scraped


def test_only_the_metrics_token_may_scrape(metrics_hub: RunningHub) -> None:
    with metrics_hub.client() as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            # a valid partner token is no metrics token
            actor(http, metrics_hub.settings, "politie", "intake").headers(),
        ):
            refused = http.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert "vhhub_" not in refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "vhhub_http_request_duration_seconds" in scrape(http)


def test_without_a_metrics_token_there_is_no_metrics_endpoint(
    initialised: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VHHUB_METRICS_TOKEN", raising=False)
    with RunningHub(initialised) as running, running.client() as http:
        response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert "vhhub_" not in response.text


def test_a_short_metrics_token_stops_the_start(
    initialised: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHHUB_METRICS_TOKEN", "short")
    with pytest.raises(ValueError, match="VHHUB_METRICS_TOKEN") as refused:
        create_app(initialised)
    assert "short" not in str(refused.value)


# -- several processes -------------------------------------------------------------------------


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A hub process on a free port, as `uvicorn hub.app:create_app --factory` runs it (the
    app reads its settings from the environment, as every worker of `--workers N` does)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hub.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hub exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"hub not up: {log.read_text(errors='replace')[-2000:]}")


def test_with_several_processes_any_scrape_counts_them_all(
    initialised: Settings, tmp_path: Path
) -> None:
    """PROMETHEUS_MULTIPROC_DIR shared by the processes (the workers of one `--workers N`
    start): a scrape of either answers the requests both served."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env |= {
        "VHHUB_DATA_DIR": str(initialised.data_dir),
        "VHHUB_DATABASE_URL": initialised.effective_database_url,
        "VHHUB_METRICS_TOKEN": TOKEN,
        "VHHUB_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    started = [_serve(env, tmp_path / f"hub{i}.log") for i in range(2)]
    try:
        for i, (process, url) in enumerate(started):
            _ready(url, process, tmp_path / f"hub{i}.log")
        # 3 more health checks on the first, 5 on the second (each also answered _ready's)
        for (_, url), extra in zip(started, (3, 5), strict=True):
            for _ in range(extra):
                assert httpx.get(f"{url}/api/v1/health").status_code == 200
        counted = []
        for _, url in started:
            response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 200
            counted.append(
                value(
                    samples(response.text),
                    "vhhub_http_request_duration_seconds_count",
                    method="GET",
                    route="/api/v1/health",
                    status_class="2xx",
                )
            )
        # every health answer of both processes, whichever was scraped (before the scrape:
        # at least 8 plus the waits for readiness)
        assert counted[0] == counted[1] >= 10
        assert len({f.name for f in shared.glob("histogram_*.db")}) == 2
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


# -- OpenTelemetry ----------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[bytes]]]:
    if not _has_module("opentelemetry.sdk.trace") or not _has_module(
        "opentelemetry.exporter.otlp.proto.http"
    ):
        if os.environ.get("CI") == "true":
            pytest.fail("the otel extra is not installed: pip install -e '.[dev,otel]'")
        pytest.skip("the otel extra is not installed")
    bodies: list[bytes] = []
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", bodies
    finally:
        server.shutdown()
        server.server_close()


def test_traces_follow_the_callers_w3c_trace_and_name_no_one(
    initialised: Settings,
    monkeypatch: pytest.MonkeyPatch,
    otlp_receiver: tuple[str, list[bytes]],
    tmp_path: Path,
) -> None:
    endpoint, bodies = otlp_receiver
    monkeypatch.setenv("VHHUB_OTEL_ENABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with RunningHub(initialised) as running, running.client() as http:
        case = new_case(http, initialised, bsn=BSN)
        police = actor(http, initialised, "politie", "preparation")
        answer = http.get(
            f"/api/v1/cases/{case['id']}",
            headers={**police.headers(), "traceparent": f"00-{trace_id}-{parent}-01"},
        )
        assert answer.status_code == 200
        hub_span = answer.headers["traceparent"].split("-")[2]
    # the hub flushed its spans on stopping
    exported = b"".join(bodies)
    assert bytes.fromhex(trace_id) in exported
    # the hub's server span is the span it answered in traceparent, child of the caller's
    assert bytes.fromhex(hub_span) in exported
    assert bytes.fromhex(parent) in exported
    assert b"/api/v1/cases/{case_id}" in exported
    for identifier in (case["id"], BSN, "politie-user"):
        assert identifier.encode() not in exported
