"""Random but reproducible policy inputs, for the differential test, the property tests and
the bench.

Each generator takes a `random.Random`, so a seed replays a failing input exactly, and
hypothesis can drive the same generators through `st.randoms()`. The inputs lean towards the
interesting cases (viewers that are invited, facts that match the catalogue) while still
producing strangers, unknown types, relabelled sensitivities and odd field classes.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hub.rego.bundle import DEFAULT_POLICY_DIR

_DATA = DEFAULT_POLICY_DIR / "data"
FACT_TYPES: dict[str, Any] = json.loads((_DATA / "fact_types.json").read_text())
ACTION_RULES: dict[str, Any] = json.loads((_DATA / "action_rules.json").read_text())
ACTIONS: list[str] = sorted(ACTION_RULES)
PUBLISHING: dict[str, Any] = json.loads((_DATA / "publishing.json").read_text())

PARTNERS: dict[str, str] = {
    "politie": "police",
    "om": "prosecution",
    "reclassering": "probation",
    "rvdk": "child_protection",
    "gemeente-wi": "municipality",
    "gemeente-lp": "municipality",
    "ggz": "mental_health",
    "jeugdzorg": "youth_care",
    "woonstede": "housing",
    "mw": "social_work",
    "veilig-thuis": "veilig_thuis",
    "dji": "custodial",
    "zvh": "zvh_staff",
    "zvh-2": "zvh_staff",
}
ROLES = [
    "participant",
    "publisher",
    "procesregisseur",
    "casusregisseur",
    "privacy_officer",
    "auditor",
]
PHASES = ["intake", "screening", "preparation", "case_conference", "plan", "execution", "closed"]
PURPOSES = [*PHASES[:-1], "audit", "policy_review", "subject_access"]
TABLES = ["youth", "adults", "domestic_violence", "multi_problem"]
DOMAINS = [
    "housing",
    "finances",
    "work_daytime",
    "mental_health",
    "physical_health",
    "addiction",
    "justice",
    "family_relations",
    "parenting",
    "safety",
    "social_network",
]
SENSITIVITIES = ["ordinary", "special", "criminal"]
USERS = ["u-1", "u-2", "u-3"]
FIELD_POOL = [
    "since",
    "status",
    "headline",
    "details",
    "notes",
    "diagnosis",
    "victim_details",
    "reporter_details",
    "findings",
    "internal_reference",
    "description",
    # fields some types mark x-reveals (left out of summaries for partners without a task)
    "incident_category",
    "subject_role",
    "report_type",
]


def _maybe(rng: random.Random, p: float, value: Any, otherwise: Any) -> Any:
    return value if rng.random() < p else otherwise


def viewer(rng: random.Random, case: dict[str, Any]) -> dict[str, Any]:
    """A viewer; mostly one of the case's participants or regisseurs, sometimes a stranger."""
    pick = rng.random()
    invited = sorted(case["participants"])
    if pick < 0.55 and invited:
        partner = rng.choice(invited)
        users = case["participants"][partner]["users"]
        user = rng.choice(users) if users and rng.random() < 0.8 else rng.choice(USERS)
        roles = rng.sample(["participant", "publisher"], rng.randint(1, 2))
    elif pick < 0.7:
        who = rng.choice(
            [case["procesregisseur"], case["casusregisseur"] or case["procesregisseur"]]
        )
        partner, user = who["partner"], _maybe(rng, 0.85, who["user"], rng.choice(USERS))
        roles = [rng.choice(["procesregisseur", "casusregisseur"])]
    else:
        partner, user = rng.choice(sorted(PARTNERS)), rng.choice(USERS)
        roles = rng.sample(ROLES, rng.randint(0, 3))
    if rng.random() < 0.15:
        roles = sorted({*roles, rng.choice(ROLES)})
    kind = _maybe(rng, 0.97, PARTNERS.get(partner, "zvh_staff"), "alien")
    return {"partner": partner, "partner_kind": kind, "user": user, "roles": roles}


def _phase(rng: random.Random) -> str:
    """Any phase, but the conference phases (where most content flows) half of the time."""
    return _maybe(rng, 0.5, rng.choice(["case_conference", "plan"]), rng.choice(PHASES))


def case(rng: random.Random) -> dict[str, Any]:
    partners = rng.sample(sorted(PARTNERS), rng.randint(0, 10))
    participants = {
        p: {"users": _maybe(rng, 0.7, [], sorted(rng.sample(USERS, rng.randint(1, 2))))}
        for p in partners
    }
    casusregisseur = _maybe(
        rng,
        0.6,
        {"partner": rng.choice(["gemeente-wi", "mw", "reclassering"]), "user": rng.choice(USERS)},
        None,
    )
    result = {
        "id": f"c-{rng.randint(1, 999)}",
        "table": _maybe(rng, 0.97, rng.choice(TABLES), "cooking"),
        "phase": _maybe(rng, 0.97, _phase(rng), "limbo"),
        "kind": rng.choice(["person", "family", "group", "area"]),
        "participants": participants,
        "procesregisseur": {"partner": rng.choice(["zvh", "zvh-2"]), "user": rng.choice(USERS)},
        "casusregisseur": casusregisseur,
    }
    if rng.random() < 0.3:
        result["registered_by"] = rng.choice(sorted(PARTNERS))
    return result


def purpose(rng: random.Random, case: dict[str, Any]) -> str:
    """Mostly the purpose that fits the phase, sometimes another one."""
    fitting = case["phase"] if case["phase"] in PURPOSES else "audit"
    return _maybe(rng, 0.75, fitting, rng.choice([*PURPOSES, "bogus"]))


def fact_metadata(rng: random.Random) -> dict[str, Any]:
    type_ = _maybe(rng, 0.95, rng.choice(sorted(FACT_TYPES)), "unknown.type/1")
    entry = FACT_TYPES.get(type_, {"domain": rng.choice(DOMAINS), "sensitivity": "ordinary"})
    domain = entry["domain"] if entry["domain"] != "*" else rng.choice(DOMAINS)
    return {
        "type": type_,
        "domain": _maybe(rng, 0.95, domain, rng.choice([*DOMAINS, "astrology"])),
        "sensitivity": _maybe(rng, 0.95, entry["sensitivity"], rng.choice(SENSITIVITIES)),
    }


def fact(rng: random.Random, viewer_partner: str) -> dict[str, Any]:
    publisher = _maybe(rng, 0.25, viewer_partner, rng.choice(sorted(PARTNERS)))
    fields = {
        name: rng.choice(["summary", "summary", "full", "full", "never", "odd"])
        for name in rng.sample(FIELD_POOL, rng.randint(0, 6))
    }
    result: dict[str, Any] = {
        **fact_metadata(rng),
        "publisher": publisher,
        "publisher_kind": PARTNERS.get(publisher, "zvh_staff"),
        "fields": fields,
    }
    if rng.random() < 0.8:
        result["shareable"] = rng.random() < 0.3
    if rng.random() < 0.2:  # a plan note's cited facts (any fact may carry them)
        result["cites"] = [
            {
                "sensitivity": rng.choice(SENSITIVITIES),
                "publisher_kind": PARTNERS[rng.choice(sorted(PARTNERS))],
            }
            for _ in range(rng.randint(0, 3))
        ]
    return result


def decision_input(rng: random.Random, *, max_facts: int = 12) -> dict[str, Any]:
    the_case = case(rng)
    the_viewer = viewer(rng, the_case)
    facts = {f"f-{i}": fact(rng, the_viewer["partner"]) for i in range(rng.randint(1, max_facts))}
    return {
        "viewer": the_viewer,
        "purpose": purpose(rng, the_case),
        "case": the_case,
        "facts": facts,
    }


def identity_input(rng: random.Random) -> dict[str, Any]:
    """Who-is-the-case-about questions: any viewer, purpose and case, sometimes registered
    by the viewer's own partner."""
    the_case = case(rng)
    the_viewer = viewer(rng, the_case)
    if rng.random() < 0.2:
        the_case["registered_by"] = the_viewer["partner"]
    return {"viewer": the_viewer, "purpose": purpose(rng, the_case), "case": the_case}


def publish_input(rng: random.Random) -> dict[str, Any]:
    """Half of the time a fact type the viewer's kind publishes at that table, as a publisher."""
    the_case = case(rng)
    the_viewer = viewer(rng, the_case)
    metadata = fact_metadata(rng)
    own_types = PUBLISHING["by_table"].get(the_case["table"], {}).get(the_viewer["partner_kind"])
    if own_types and rng.random() < 0.5:
        type_ = rng.choice([*sorted(own_types), "network.involvement_signal/1"])
        entry = FACT_TYPES[type_]
        domain = entry["domain"] if entry["domain"] != "*" else rng.choice(DOMAINS)
        metadata = {"type": type_, "domain": domain, "sensitivity": entry["sensitivity"]}
        the_viewer["roles"] = sorted({*the_viewer["roles"], "publisher"})
    return {
        "viewer": the_viewer,
        "purpose": purpose(rng, the_case),
        "case": the_case,
        "fact": metadata,
    }


def action_input(rng: random.Random) -> dict[str, Any]:
    the_case = _maybe(rng, 0.85, case(rng), None)
    action = _maybe(rng, 0.97, rng.choice(ACTIONS), "delete_everything")
    target: dict[str, Any] | None = None
    if action == "change_phase" and the_case is not None:
        index = PHASES.index(the_case["phase"]) if the_case["phase"] in PHASES else 0
        target = {"phase": PHASES[min(len(PHASES) - 1, max(0, index + rng.choice([1, 1, 2, -1])))]}
    elif action in ("invite", "withdraw_invitation", "assign_casusregisseur"):
        target = {"partner": rng.choice(sorted(PARTNERS)), "user": rng.choice(USERS)}
    if the_case is None:
        the_viewer = {
            "partner": rng.choice(sorted(PARTNERS)),
            "partner_kind": "municipality",
            "user": rng.choice(USERS),
            "roles": rng.sample(ROLES, rng.randint(0, 2)),
        }
        the_viewer["partner_kind"] = PARTNERS[the_viewer["partner"]]
        the_purpose = rng.choice(PURPOSES)
    else:
        the_viewer = viewer(rng, the_case)
        the_purpose = purpose(rng, the_case)
    return {
        "viewer": the_viewer,
        "purpose": the_purpose,
        "action": action,
        "case": the_case,
        "target": target,
    }
