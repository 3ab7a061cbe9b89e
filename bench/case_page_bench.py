"""What the web application's case page costs, against the JSON briefing, in the same run.

    .venv/bin/python bench/case_page_bench.py [--requests 100]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The case of bench/briefing_bench.py (a family on the multi-problem table in the case
conference, 200 facts from eight partners) is played through the API on a hub in a child
process; then one viewer, the municipality's casusregisseur (`demo-gemeente-wi`, a persona
of the demo login), asks over keep-alive HTTP, interleaved request by request after a
warm-up:

- **briefing** (the baseline): `GET /api/v1/cases/{id}/briefing`, purpose case_conference,
  a fresh token each time (minted before the clock starts);
- **case + briefing**: the two API calls the case page makes (`GET /api/v1/cases/{id}`, then
  the briefing), for reference;
- **case page**: `GET /casussen/{id}?doel=case_conference` with the session cookie: the
  session lookup, the same two service calls (two access-log entries), the visit record, and
  the server-side rendering of the page (Jinja2, autoescaped).

It prints p50 and p95 of each and the case page's ratio to the briefing (target: at most
1.5x, issue 17), and checks that the page shows the facts the briefing released.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from briefing_bench import (
    API,
    PHASE,
    Actor,
    bench_database,
    bench_hub,
    machine_note,
    pct,
    play_case,
    seed_case,
)

from hub.settings import Settings
from hub.setup import initialise

WARMUP = 10
VIEWER = ("gemeente-wi", "demo-gemeente-wi", ["publisher", "participant", "casusregisseur"])
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(http: httpx.Client, base_url: str, who: tuple[str, str] = VIEWER[:2]) -> str:
    """The demo login of `who` (partner, user); answers the session cookie header."""
    page = http.get("/aanmelden")
    token = CSRF.search(page.text)
    if token is None:
        raise SystemExit("no demo login on the bench hub")
    answer = http.post(
        "/aanmelden/demo",
        data={"partner": who[0], "user": who[1], "csrf_token": token.group(1)},
        headers={"origin": base_url, "cookie": f"__Host-vhhub-csrf={token.group(1)}"},
    )
    cookie = next(
        (c for c in answer.headers.get_list("set-cookie") if c.startswith("__Host-vhhub=")), None
    )
    if answer.status_code != 303 or cookie is None:
        raise SystemExit(f"demo login failed: {answer.status_code}")
    return cookie.split(";", 1)[0]


def line(name: str, values: list[float], base: list[float], width: int = 18) -> str:
    """One row of the table: p50 and p95 ms, and their ratios to the baseline's."""
    p50, p95 = statistics.median(values), pct(values, 95)
    b50, b95 = statistics.median(base), pct(base, 95)
    return f"{name:<{width}} {p50:>8.2f} {p95:>8.2f}   {p50 / b50:>5.2f}x {p95 / b95:>5.2f}x"


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
                cid, subjects = play_case(http, settings)
                seed_case(http, settings, cid, subjects)
                viewer = Actor(settings, *VIEWER)
                cookie = login(http, base_url)
                n = args.requests + WARMUP
                tokens = viewer.tokens(3 * n)
                briefing, both, page = [], [], []
                for i in range(n):
                    t0 = time.perf_counter()
                    b = http.get(
                        f"{API}/cases/{cid}/briefing", headers=viewer.headers(PHASE, tokens[3 * i])
                    )
                    t1 = time.perf_counter()
                    c = http.get(
                        f"{API}/cases/{cid}", headers=viewer.headers(PHASE, tokens[3 * i + 1])
                    )
                    b2 = http.get(
                        f"{API}/cases/{cid}/briefing",
                        headers=viewer.headers(PHASE, tokens[3 * i + 2]),
                    )
                    t2 = time.perf_counter()
                    p = http.get(f"/casussen/{cid}?doel={PHASE}", headers={"cookie": cookie})
                    t3 = time.perf_counter()
                    if {b.status_code, c.status_code, b2.status_code, p.status_code} != {200}:
                        raise SystemExit(
                            f"request {i}: {b.status_code} {c.status_code} {p.status_code}"
                        )
                    if i >= WARMUP:
                        briefing.append((t1 - t0) * 1000)
                        both.append((t2 - t1) * 1000)
                        page.append((t3 - t2) * 1000)
                released = [f["id"] for d in b.json()["domains"] for f in d["facts"]]
                shown = set(re.findall(r'data-fact-id="([^"]+)"', p.text))
                if shown != set(released):
                    raise SystemExit("the case page does not show what the briefing released")
    print(f"case page vs JSON briefing, {args.requests} requests each, interleaved")
    print(machine_note(url))
    print(f"viewer {VIEWER[1]} ({VIEWER[0]}), {len(released)} facts released of 200")
    print(f"{'':<18} {'p50 ms':>8} {'p95 ms':>8}   {'p50':>6} {'p95':>6} (to the briefing)")
    print(line("briefing (JSON)", briefing, briefing))
    print(line("case + briefing", both, briefing))
    print(line("case page (HTML)", page, briefing))
    print(f"page size {len(p.content):,} bytes, briefing {len(b.content):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
