"""W3C Trace Context at the edge (issue 20): a partner's valid `traceparent` is continued, an
invalid one is ignored (never an error), the hub answers with its own span of the same trace,
and the access log's request id is `<trace id>.<hub span id>`. An FSC transaction id is echoed
when it is a UUID. Over real HTTP, against the real app."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from hub.app import create_app
from hub.http import current_trace
from hub.settings import Settings
from tests.cases.test_workflow import log_rows
from tests.conftest import RunningHub
from tests.foundation.edge_server import EdgeServer, ipv4_socket

AUTH_FAILURE = "auth.failure"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
VALID = f"00-{TRACE_ID}-{PARENT_ID}-01"
ANSWER = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def answered(response: httpx.Response) -> tuple[str, str, str]:
    """The trace id, span id and flags of the answer's one `traceparent`."""
    [value] = response.headers.get_list("traceparent")
    match = ANSWER.match(value)
    assert match is not None, value
    trace_id, span_id, flags = match.groups()
    assert trace_id != "0" * 32 and span_id != "0" * 16
    return trace_id, span_id, flags


def test_a_valid_traceparent_is_continued_with_the_hubs_own_span(
    http: httpx.Client, hub: RunningHub
) -> None:
    response = http.get("/api/v1/health", headers={"traceparent": VALID})
    assert response.status_code == 200
    trace_id, span_id, flags = answered(response)
    assert (trace_id, flags) == (TRACE_ID, "01")
    assert span_id != PARENT_ID
    # the request id names the trace and the hub's span
    assert response.headers["x-request-id"] == f"{TRACE_ID}.{span_id}"
    # another request of the same trace gets a span of its own
    again = answered(http.get("/api/v1/health", headers={"traceparent": VALID}))
    assert again[0] == TRACE_ID and again[1] != span_id


def test_the_access_log_records_the_trace_and_span_as_request_id(
    http: httpx.Client, hub: RunningHub
) -> None:
    refused = http.get("/api/v1/cases", headers={"traceparent": VALID})
    assert refused.status_code == 401
    trace_id, span_id, _ = answered(refused)
    request_id = f"{trace_id}.{span_id}"
    assert refused.headers["x-request-id"] == request_id
    [entry] = log_rows(hub.settings, action=AUTH_FAILURE, request_id=request_id)
    assert entry.request_id == request_id


def test_without_a_traceparent_the_hub_starts_a_trace_and_logs_it(
    http: httpx.Client, hub: RunningHub
) -> None:
    fresh = http.get("/api/v1/cases")
    trace_id, span_id, _ = answered(fresh)
    assert trace_id != TRACE_ID
    assert fresh.headers["x-request-id"] == f"{trace_id}.{span_id}"
    assert log_rows(hub.settings, action=AUTH_FAILURE, request_id=f"{trace_id}.{span_id}")


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",  # upper-case hex
        f"00-{'0' * 32}-{PARENT_ID}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{TRACE_ID}-{PARENT_ID}-01",  # a forbidden version
        f"01-{TRACE_ID}-{PARENT_ID}-01",  # not version 00
        f"00-{TRACE_ID}-{PARENT_ID}-01-extra",  # version 00 is exactly this long
        f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",  # short trace id
        f"00_{TRACE_ID}_{PARENT_ID}_01",
        "Jansen-0123456789",
        "",
    ],
)
def test_an_invalid_traceparent_is_ignored_and_never_an_error(
    http: httpx.Client, hub: RunningHub, traceparent: str
) -> None:
    response = http.get("/api/v1/health", headers={"traceparent": traceparent})
    assert response.status_code == 200
    trace_id, span_id, flags = answered(response)
    assert trace_id != TRACE_ID.lower() and span_id != PARENT_ID
    assert flags == "01"


def test_two_traceparent_headers_are_ignored(http: httpx.Client, hub: RunningHub) -> None:
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    response = http.get("/api/v1/health", headers=[("traceparent", VALID), ("traceparent", other)])
    assert response.status_code == 200
    assert answered(response)[0] not in {TRACE_ID, "1" * 32}


def test_a_clients_own_request_id_is_kept_beside_the_trace(
    http: httpx.Client, hub: RunningHub
) -> None:
    response = http.get("/api/v1/cases", headers={"traceparent": VALID, "x-request-id": "mine-1"})
    assert response.headers["x-request-id"] == "mine-1"
    assert answered(response)[0] == TRACE_ID
    assert log_rows(hub.settings, action=AUTH_FAILURE, request_id="mine-1")
    # one that the access log could not hold is replaced by the trace's id
    odd = http.get("/api/v1/health", headers={"traceparent": VALID, "x-request-id": "a b"})
    trace_id, span_id, _ = answered(odd)
    assert odd.headers["x-request-id"] == f"{trace_id}.{span_id}"


def test_an_fsc_transaction_id_is_echoed_only_when_it_is_a_uuid(
    http: httpx.Client, hub: RunningHub
) -> None:
    transaction = str(uuid.uuid4())
    echoed = http.get("/api/v1/health", headers={"fsc-transaction-id": transaction})
    assert echoed.headers.get_list("fsc-transaction-id") == [transaction]
    upper = http.get("/api/v1/health", headers={"fsc-transaction-id": transaction.upper()})
    assert upper.headers.get_list("fsc-transaction-id") == [transaction]
    for bad in ("Jansen-0123456789", transaction + "0", "{" + transaction + "}", ""):
        response = http.get("/api/v1/health", headers={"fsc-transaction-id": bad})
        assert response.status_code == 200
        assert "fsc-transaction-id" not in response.headers
    # an error answer carries the trace and the transaction id too
    refused = http.get(
        "/api/v1/cases", headers={"traceparent": VALID, "fsc-transaction-id": transaction}
    )
    assert refused.status_code == 401
    assert answered(refused)[0] == TRACE_ID
    assert refused.headers["fsc-transaction-id"] == transaction


@pytest.fixture
def app_with_trace_probe(initialised: Settings) -> FastAPI:
    """The real app plus two routes (outside /api, so without a token) that answer with
    `current_trace()` as the route's code sees it: on the event loop and in a worker thread."""
    app = create_app(initialised)

    def seen() -> dict[str, str | None]:
        trace = current_trace()
        assert trace is not None
        return {
            "trace_id": trace.trace_id,
            "span_id": trace.span_id,
            "parent_span_id": trace.parent_span_id,
            "fsc_transaction_id": trace.fsc_transaction_id,
        }

    @app.get("/trace-probe/async")
    async def in_loop() -> dict[str, str | None]:
        return seen()

    @app.get("/trace-probe/sync")
    def in_thread() -> dict[str, str | None]:
        return seen()

    return app


def test_current_trace_is_what_the_answer_says_in_async_and_sync_code(
    app_with_trace_probe: FastAPI, initialised: Settings
) -> None:
    transaction = str(uuid.uuid4())
    with (
        EdgeServer(app_with_trace_probe, initialised, ipv4_socket()) as server,
        server.client() as http,
    ):
        for path in ("/trace-probe/async", "/trace-probe/sync"):
            continued = http.get(
                path, headers={"traceparent": VALID, "fsc-transaction-id": transaction}
            )
            trace_id, span_id, _ = answered(continued)
            assert continued.json() == {
                "trace_id": TRACE_ID,
                "span_id": span_id,
                "parent_span_id": PARENT_ID,
                "fsc_transaction_id": transaction,
            }
            started = http.get(path)
            trace_id, span_id, _ = answered(started)
            assert started.json() == {
                "trace_id": trace_id,
                "span_id": span_id,
                "parent_span_id": None,
                "fsc_transaction_id": None,
            }
    # outside a request there is no trace
    assert current_trace() is None
