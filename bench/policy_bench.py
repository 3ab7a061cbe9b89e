"""Policy bench: one batch decision over 500 facts against 500 single decisions, per engine.

    python bench/policy_bench.py [--facts 500] [--repeat 5] [--seed 7]

Engines: embedded regorus; regopy if installed (cross-check engine, ADR 0101); the OPA-server
path over real HTTP to the OPA test double (tests/rego/opa_test_double.py - the real OPA binary
is not available here, so this measures our client, HTTP and JSON, not OPA's evaluator).

Per engine it prints: the deduplicated batch (the hub's path; wall clock, and in-process CPU as
the best of at least 20 runs), the same batch without deduplication (one evaluation over every
fact), and 500 single-fact decisions, with ratios.
All in one run on the same generated briefing, so the figures compare.

    python bench/policy_bench.py --profile [--facts 500]

prints instead where the embedded batch's CPU goes, stage by stage (best of 50 each): class
grouping, the input's JSON, handing it to regorus, the evaluation, and the answer's check.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub.rego import batching  # noqa: E402
from hub.rego.bundle import DEFAULT_POLICY_DIR  # noqa: E402
from hub.rego.embedded import RegorusEngine, new_regorus_engine  # noqa: E402
from hub.rego.engine import DECISIONS_RULE, BatchingEngine, encode_input  # noqa: E402
from hub.rego.opa import OpaServerEngine  # noqa: E402
from hub.rego.regopy_engine import RegopyEngine, regopy_available  # noqa: E402
from tests.rego.opa_test_double import OpaTestDouble  # noqa: E402

PARTNERS = {
    "politie": "police",
    "om": "prosecution",
    "reclassering": "probation",
    "rvdk": "child_protection",
    "gemeente-wi": "municipality",
    "ggz": "mental_health",
    "jeugdzorg": "youth_care",
    "woonstede": "housing",
    "mw": "social_work",
    "veilig-thuis": "veilig_thuis",
    "dji": "custodial",
}


def schema_fields() -> dict[str, dict[str, str]]:
    """Field name -> disclosure class per fact type, from schemas/ (as the hub would pass)."""
    fields: dict[str, dict[str, str]] = {}
    for path in sorted((REPO / "schemas").glob("*.json")):
        schema = json.loads(path.read_text())
        props = schema.get("properties", {})
        fields[schema["x-fact-type"]] = {k: v.get("x-disclosure", "full") for k, v in props.items()}
    return fields


def briefing(n_facts: int, seed: int) -> dict[str, Any]:
    """A housing corporation at the multi-problem case conference, with n realistic facts."""
    rng = random.Random(seed)
    catalogue = json.loads((DEFAULT_POLICY_DIR / "data" / "fact_types.json").read_text())
    fields = schema_fields()
    domains = ["housing", "finances", "safety", "addiction", "social_network"]
    facts = {}
    for i in range(n_facts):
        type_ = rng.choice(sorted(catalogue))
        entry = catalogue[type_]
        kind = type_.split(".")[0]
        publishers = [p for p, k in PARTNERS.items() if k == kind] or sorted(PARTNERS)
        publisher = rng.choice(publishers)
        facts[f"f-{i:04d}"] = {
            "type": type_,
            "domain": entry["domain"] if entry["domain"] != "*" else rng.choice(domains),
            "sensitivity": entry["sensitivity"],
            "publisher": publisher,
            "publisher_kind": PARTNERS[publisher],
            "shareable": rng.random() < 0.1,
            "fields": fields.get(type_, {"since": "summary", "details": "full"}),
        }
    return {
        "viewer": {
            "partner": "woonstede",
            "partner_kind": "housing",
            "user": "u-9",
            "roles": ["participant", "publisher"],
        },
        "purpose": "case_conference",
        "case": {
            "id": "c-1",
            "table": "multi_problem",
            "phase": "case_conference",
            "kind": "family",
            "participants": {p: {"users": []} for p in PARTNERS},
            "procesregisseur": {"partner": "zvh", "user": "u-1"},
            "casusregisseur": {"partner": "gemeente-wi", "user": "u-4"},
        },
        "facts": facts,
    }


def best_ms(
    action: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Best of `repeat` runs by `clock`: wall time, or with `time.process_time` in-process
    CPU (all threads of this process, so the OPA test double's server thread counts too),
    which is steadier than wall clock on a shared machine."""
    times = []
    for _ in range(repeat):
        started = clock()
        action()
        times.append((clock() - started) * 1000)
    return min(times)


def bench_engine(
    name: str, engine: BatchingEngine, inp: dict[str, Any], repeat: int
) -> dict[str, Any]:
    engine.decide_batch(inp)  # warm up (per-thread engine, connections)
    singles = [{**inp, "facts": {fid: fact}} for fid, fact in inp["facts"].items()]
    batch = best_ms(lambda: engine.decide_batch(inp), repeat)
    batch_cpu = best_ms(lambda: engine.decide_batch(inp), max(repeat, 20), time.process_time)
    naive = best_ms(lambda: engine.decide_batch(inp, deduplicate=False), max(1, repeat // 2))

    def all_singles() -> None:
        for single in singles:
            engine.decide_batch(single)

    single_total = best_ms(all_singles, max(1, repeat // 3))
    assert engine.decide_batch(inp) == engine.decide_batch(inp, deduplicate=False)
    return {
        "engine": name,
        "batch_ms": batch,
        "batch_cpu_ms": batch_cpu,
        "naive_batch_ms": naive,
        "singles_ms": single_total,
        "per_single_ms": single_total / len(singles),
    }


def profile(inp: dict[str, Any]) -> None:
    """Where the embedded batch decision's CPU goes, stage by stage (ADR 0020)."""
    engine = RegorusEngine()
    bundle = engine.bundle
    regorus_engine = new_regorus_engine(bundle.policy_modules, bundle.data_json())
    classes = batching.deduplicate(inp)
    payload = encode_input(classes.engine_input)
    regorus_engine.set_input_json(payload)
    answer = regorus_engine.eval_rule(DECISIONS_RULE)
    assert batching.parse_decisions(answer, classes, engine.version) == engine.decide_batch(inp)
    print(
        f"{len(inp['facts'])} facts: {classes.class_count} classes; input JSON"
        f" {len(payload):,} characters"
    )
    stages: list[tuple[str, Callable[[], object]]] = [
        ("class grouping", lambda: batching.deduplicate(inp)),
        ("input JSON", lambda: encode_input(classes.engine_input)),
        ("regorus set_input_json", lambda: regorus_engine.set_input_json(payload)),
        ("regorus eval_rule", lambda: regorus_engine.eval_rule(DECISIONS_RULE)),
        ("answer check", lambda: batching.parse_decisions(answer, classes, engine.version)),
        ("decide_batch (all of it)", lambda: engine.decide_batch(inp)),
    ]
    for name, action in stages:
        print(f"  {name:<30}{best_ms(action, 50, time.process_time):>8.2f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="the embedded batch, by stage")
    args = parser.parse_args()

    inp = briefing(args.facts, args.seed)
    if args.profile:
        profile(inp)
        return
    classes = {
        json.dumps({**f, "publisher": f["publisher"] == "woonstede"}, sort_keys=True)
        for f in inp["facts"].values()
    }
    print(f"briefing: {args.facts} facts in {len(classes)} distinct classes; best of {args.repeat}")
    rows = [bench_engine("embedded (regorus)", RegorusEngine(), inp, args.repeat)]
    if regopy_available():
        rows.append(bench_engine("regopy (rego-cpp)", RegopyEngine(timeout_s=60), inp, args.repeat))
    else:
        print("regopy: not installed, skipped")
    with OpaTestDouble() as double:
        opa = OpaServerEngine(url=double.url, timeout_s=60)
        rows.append(bench_engine("OPA REST (test double)", opa, inp, args.repeat))
        opa.close()

    header = (
        f"{'engine':<24}{'batch (dedup)':>15}{'batch CPU':>12}{'batch (naive)':>15}"
        f"{f'{args.facts} singles':>15}{'per single':>12}{'singles/batch':>15}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['engine']:<24}{row['batch_ms']:>12.1f} ms{row['batch_cpu_ms']:>9.1f} ms"
            f"{row['naive_batch_ms']:>12.1f} ms"
            f"{row['singles_ms']:>12.1f} ms{row['per_single_ms']:>9.2f} ms"
            f"{row['singles_ms'] / row['batch_ms']:>14.0f}x"
        )
    embedded = rows[0]
    for row in rows[1:]:
        print(
            f"{row['engine']} vs embedded: batch {row['batch_ms'] / embedded['batch_ms']:.1f}x,"
            f" single {row['per_single_ms'] / embedded['per_single_ms']:.1f}x"
        )


if __name__ == "__main__":
    main()
