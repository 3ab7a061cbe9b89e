"""How fast an auditor can verify an access-log export, and how fast the appender's maths is.

    python bench/audit_verify_bench.py [--entries N] [--checkpoint-every K] [--keep PATH]

Writes a synthetic export of N realistic entries (briefing reads with disclosed fields,
publishes, denials) with a signed checkpoint every K entries to a temporary file, then
times `verify_export_file` over it: one streaming pass, so memory stays flat however large
N is. Also times leaf hashing (canonical bytes + SHA-256) and `CompactRange.append`, which
together are the appender's per-entry cost.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from hub.audit.checkpoints import DEFAULT_ORIGIN, sign_checkpoint, verifier_key_text
from hub.audit.entry import AccessLogEntry, Action, Outcome, entry_leaf_hash
from hub.audit.merkle import CompactRange
from hub.audit.verify import ExportHeader, export_lines, verify_export_file
from hub.crypto.signing import SigningKey
from hub.vocabulary import PartnerKind, Purpose, Role

_KINDS = list(PartnerKind)
_ACTIONS = [Action.BRIEFING_READ] * 6 + [Action.FACT_PUBLISH, Action.UPDATES_READ, Action.CASE_READ]


def synthetic_entry(seq: int) -> AccessLogEntry:
    """A plausible entry: most are briefing reads that disclose a few fields of a few facts."""
    action = _ACTIONS[seq % len(_ACTIONS)]
    denied = seq % 17 == 0
    case = f"c-{seq % 4099:08x}-0000-4000-8000-{seq % 7919:012x}"
    disclosed = (
        {
            f"f-{(seq * 7 + k) % 100_003}": ("headline", "life_domain", "summary")
            for k in range(seq % 6)
        }
        if action is Action.BRIEFING_READ and not denied
        else {}
    )
    return AccessLogEntry(
        seq=seq,
        time_us=1_700_000_000_000_000 + seq * 250_000,
        action=action,
        outcome=Outcome.DENIED if denied else Outcome.ALLOWED,
        actor_partner=f"p-{seq % 37}",
        actor_partner_kind=_KINDS[seq % len(_KINDS)],
        actor_user=f"u-{hashlib.sha256(seq.to_bytes(8, 'big')).hexdigest()[:16]}",
        actor_roles=(Role.PARTICIPANT,) if seq % 5 else (Role.PARTICIPANT, Role.PUBLISHER),
        purpose=Purpose.CASE_CONFERENCE,
        case_id=case,
        subject_pseudonyms=(f"{seq % 65_521:016x}",),
        object_ids=(f"f-{seq}",) if action is Action.FACT_PUBLISH else (),
        disclosed=disclosed,
        reason="policy:not_participant" if denied else "policy:allow",
        policy_version="sha256:3f5a9c0e1b2d4f6a",
        request_id=f"r-{seq:012d}",
        source=f"10.{seq % 256}.{(seq // 256) % 256}.7",
    )


def write_export(path: Path, n: int, every: int, key: SigningKey, vkey: str) -> float:
    """Stream an export to `path` the way the hub's exporter does; returns seconds taken.

    First pass: the appender's work (leaf hashes, frontier, a signed checkpoint every
    `every` entries). Second pass: `export_lines`, streaming entries from a generator.
    """
    start = time.perf_counter()
    cr = CompactRange()
    notes = [sign_checkpoint(DEFAULT_ORIGIN, 0, cr.root(), key, DEFAULT_ORIGIN)]
    for seq in range(n):
        cr.append(entry_leaf_hash(synthetic_entry(seq)))
        if cr.size % every == 0 or cr.size == n:
            notes.append(sign_checkpoint(DEFAULT_ORIGIN, cr.size, cr.root(), key, DEFAULT_ORIGIN))
    header = ExportHeader(origin=DEFAULT_ORIGIN, verifier_key=vkey)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(export_lines((synthetic_entry(s) for s in range(n)), notes, header))
    return time.perf_counter() - start


def bench_appender_maths(n: int) -> tuple[float, float]:
    """Entries/s for leaf hashing (canonical bytes + SHA-256) and for CompactRange.append."""
    sample = [synthetic_entry(s) for s in range(min(n, 100_000))]
    start = time.perf_counter()
    leaves = [entry_leaf_hash(e) for e in sample]
    hash_rate = len(sample) / (time.perf_counter() - start)
    cr = CompactRange()
    start = time.perf_counter()
    for i in range(n):
        cr.append(leaves[i % len(leaves)])
    append_rate = n / (time.perf_counter() - start)
    return hash_rate, append_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the export here and keep it")
    args = parser.parse_args(argv)
    n, every = args.entries, args.checkpoint_every

    key = SigningKey.from_seed(bytes(range(32)))
    vkey = verifier_key_text(DEFAULT_ORIGIN, key.public_key())
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); {n:,} entries, "
        f"checkpoint every {every:,}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "export.jsonl"
        written = write_export(path, n, every, key, vkey)
        size = path.stat().st_size
        print(
            f"export written in {written:.1f} s: {size / 1e6:,.0f} MB "
            f"({size / max(n, 1):.0f} bytes/entry)"
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        report = verify_export_file(path, vkey)
        elapsed = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not report.ok:
        print(f"VERIFY FAILED: {report.problem}")
        return 1
    print(
        f"verify_export: {report.entries_checked:,} entries and "
        f"{report.checkpoints_checked:,} checkpoints in {elapsed:.1f} s "
        f"= {report.entries_checked / elapsed:,.0f} entries/s ({size / 1e6 / elapsed:.0f} MB/s)"
    )
    # ru_maxrss is a high-water mark (KiB on Linux): growth shows what verifying added.
    print(
        f"peak RSS {rss_after / 1024:.0f} MB; growth while verifying "
        f"{(rss_after - rss_before) / 1024:.0f} MB"
    )

    hash_rate, append_rate = bench_appender_maths(n)
    print(f"leaf hash (canonical bytes + SHA-256): {hash_rate:>12,.0f} entries/s")
    print(f"CompactRange.append:                   {append_rate:>12,.0f} leaves/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
