"""Witness bench: access-log append latency with every witness offline vs no witnesses.

    python bench/witness_bench.py [--appends N] [--database-url URL] [--no-sqlite]

Issue 21 item 4: writing the log never waits for witnesses. Per backend, one run on the
same machine (so the figures compare), appends one per transaction through
`AccessLog.append` with a checkpoint every 16 entries or 1 s (many checkpoints, so anything
checkpoint-related would show), in two scenarios:

- ``none``: no witness registered, no quorum check running;
- ``offline``: three witness keys registered, VHHUB_WITNESS_MIN=2, the hub's quorum check
  (`WitnessService.quorum`) running every 0.5 s in another thread as the hub's background
  task does, and no witness ever answering: checkpoints pile up uncosigned and the alert is
  raised throughout.

Prints p50 and p99 append latency (ms) per scenario and the offline/none ratio; the target
is a p99 ratio of about 1 (noise aside: the other helpers load this machine). Printed by the
bench, never asserted by a timed test.

PostgreSQL: ``--database-url`` names a server the bench may create a scratch database on
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); it is dropped afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hub.audit.entry import Action, Outcome  # noqa: E402
from hub.audit.log import AccessLog, Actor, Event, LogSigner, RequestInfo  # noqa: E402
from hub.audit.witness import witness_vkey  # noqa: E402
from hub.audit.witness_service import WitnessService  # noqa: E402
from hub.crypto.signing import SigningKey, generate_signing_seed  # noqa: E402
from hub.db.migrate import upgrade_to_head  # noqa: E402
from hub.db.session import Database, sqlite_url  # noqa: E402
from hub.logging import configure_logging  # noqa: E402

ACTOR = Actor(partner="politie", user="u-1")
REQUEST = RequestInfo(request_id="r", source="192.0.2.1")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "bench.db")
        upgrade_to_head(url)
        yield url


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    name = f"vhhub_witness_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        upgrade_to_head(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def appends(db: Database, log: AccessLog, n: int) -> list[float]:
    timings = []
    for i in range(n):
        started = time.perf_counter()
        with db.unit_of_work() as session:
            log.append(
                session,
                Event(action=Action.LOG_QUERY, outcome=Outcome.ALLOWED, reason=f"bench {i}"),
                actor=ACTOR,
                request=REQUEST,
            )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


class Scenario:
    """One database and log; `offline` adds three registered, silent witnesses and the
    hub's quorum check running every 0.5 s in a thread."""

    def __init__(self, url: str, *, witnesses_offline: bool) -> None:
        self.db = Database(url)
        self.log = AccessLog(
            LogSigner(SigningKey.from_seed(bytes(32)), "bench.local/access-log"),
            checkpoint_every=16,
            checkpoint_interval_s=1,
        )
        self.service = WitnessService(self.db, self.log)
        self.stop = threading.Event()
        self.checks = 0
        self.checker: threading.Thread | None = None
        self.timings: list[float] = []
        if witnesses_offline:
            for i in range(3):
                key = SigningKey.from_seed(generate_signing_seed())
                self.service.register(
                    f"partner-{i}", witness_vkey(f"w{i}.example", key.public_key())
                )
            self.checker = threading.Thread(target=self._quorum_checks, daemon=True)
            self.checker.start()
        appends(self.db, self.log, 50)  # warm up: connections, first checkpoint

    def _quorum_checks(self) -> None:
        while not self.stop.wait(0.5):
            self.service.quorum(2, 1)
            self.checks += 1

    def batch(self, n: int) -> None:
        self.timings += appends(self.db, self.log, n)

    def close(self) -> None:
        self.stop.set()
        if self.checker is not None:
            self.checker.join()
        self.db.dispose()


def run(backend: str, database: Callable[[], AbstractContextManager[str]], n: int) -> None:
    """Both scenarios side by side, in alternating batches of 100: the machine's load (other
    work on it) then falls on both alike, which one long run after the other does not."""
    with database() as url_none, database() as url_down:
        none = Scenario(url_none, witnesses_offline=False)
        down = Scenario(url_down, witnesses_offline=True)
        try:
            for i in range(max(1, n // 100)):
                first, second = (none, down) if i % 2 == 0 else (down, none)
                first.batch(100)
                second.batch(100)
        finally:
            none.close()
            down.close()
    print(
        f"\n== {backend}: {len(none.timings)} appends per scenario, one per transaction, "
        "checkpoint every 16 / 1 s"
    )
    print(f"{'scenario':<28}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, values in (
        ("no witnesses", none.timings),
        ("3 witnesses, all offline", down.timings),
    ):
        print(
            f"{label:<28}{percentile(values, 0.5):>10.3f}{percentile(values, 0.99):>10.3f}"
            f"{statistics.fmean(values):>10.3f}"
        )
    p50 = percentile(down.timings, 0.5) / percentile(none.timings, 0.5)
    p99 = percentile(down.timings, 0.99) / percentile(none.timings, 0.99)
    print(f"ratio offline/none: p50 {p50:.2f}, p99 {p99:.2f} ({down.checks} quorum checks ran)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    # the alert's log line repeats every check while witnesses are down: keep the table legible
    configure_logging("ERROR")
    if not args.no_sqlite:
        run("SQLite", sqlite_database, args.appends)
    if not args.no_postgres:
        try:
            run("PostgreSQL", partial(postgres_database, args.database_url), args.appends)
        except Exception as exc:  # no server: say so, the SQLite figures stand
            print(f"\nPostgreSQL skipped: {type(exc).__name__}")


if __name__ == "__main__":
    main()
