"""What the privacy officer's matrix page costs, against the JSON matrix API, in the same run.

    .venv/bin/python bench/matrix_page_bench.py [--requests 100]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A hub freshly initialised (the shipped policy active) runs in a child process; one privacy
officer, the prosecution's `fg-om` (a persona of the demo login), asks over keep-alive HTTP,
interleaved request by request after a warm-up:

- **matrix (JSON)** (the baseline): `GET /api/v1/policies/active/matrix`, purpose
  policy_review, a fresh token each time (minted before the clock starts): authorisation,
  the logged read, the matrix built from the stored version, serialised;
- **matrix page (HTML)**: `GET /beleid/matrix/{largest table}` with the session cookie: the
  session lookup, the same service call (the same access-log entry), the heat map and its
  server-side rendering (Jinja2, autoescaped).

It prints p50 and p95 of each, the page's ratio to the API, and whether the page's p95 is
under the target of issue 18 (300 ms server time for the largest table); the times are
client-measured on loopback, so they include HTTP and are an upper bound of server time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from briefing_bench import API, Actor, bench_database, bench_hub, machine_note, pct
from case_page_bench import line, login

from hub.settings import Settings
from hub.setup import initialise

WARMUP = 10
OFFICER = ("om", "fg-om", ["privacy_officer"])
PURPOSE = "policy_review"
TARGET_MS = 300.0


def largest(matrix: dict[str, object]) -> str:
    tables = matrix["tables"]
    assert isinstance(tables, list)
    best = max(tables, key=lambda t: sum(len(r["cells"]) for r in t["rows"]))
    return str(best["table"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with bench_database(args.database_url, data_dir) as url:
            settings = Settings(data_dir=data_dir, database_url=url, log_level="WARNING")
            initialise(settings)
            with (
                bench_hub(data_dir, url) as base_url,
                httpx.Client(base_url=base_url, timeout=60) as http,
            ):
                officer = Actor(settings, *OFFICER)
                cookie = login(http, base_url, OFFICER[:2])
                n = args.requests + WARMUP
                tokens = officer.tokens(n + 1)
                first = http.get(
                    f"{API}/policies/active/matrix", headers=officer.headers(PURPOSE, tokens[0])
                )
                table = largest(first.json())
                api, page = [], []
                for i in range(n):
                    t0 = time.perf_counter()
                    a = http.get(
                        f"{API}/policies/active/matrix",
                        headers=officer.headers(PURPOSE, tokens[i + 1]),
                    )
                    t1 = time.perf_counter()
                    p = http.get(f"/beleid/matrix/{table}", headers={"cookie": cookie})
                    t2 = time.perf_counter()
                    if {a.status_code, p.status_code} != {200}:
                        raise SystemExit(f"request {i}: {a.status_code} {p.status_code}")
                    if i >= WARMUP:
                        api.append((t1 - t0) * 1000)
                        page.append((t2 - t1) * 1000)
                rows = p.text.count("data-row=")
    print(f"matrix page vs JSON matrix, {args.requests} requests each, interleaved")
    print(machine_note(url))
    print(f"officer {OFFICER[1]} ({OFFICER[0]}), table {table} ({rows} rows x 7 phases)")
    print(f"{'':<20} {'p50 ms':>8} {'p95 ms':>8}   {'p50':>6} {'p95':>6} (to the API)")
    print(line("matrix (JSON)", api, api, width=20))
    print(line("matrix page (HTML)", page, api, width=20))
    p95 = pct(page, 95)
    verdict = "under" if p95 < TARGET_MS else "OVER"
    print(f"page p95 {p95:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    print(f"page size {len(p.content):,} bytes, API answer {len(a.content):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
