"""How a case looks to the policy: ids, table, phase, participants, regisseurs; no content."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.cases.models import Case, Participant


def case_policy_input(case: Case, participants: Iterable[Participant]) -> dict[str, Any]:
    invited: dict[str, dict[str, list[str]]] = {}
    whole_partner: set[str] = set()
    for participant in participants:
        if participant.withdrawn_at is not None:
            continue
        entry = invited.setdefault(participant.partner_id, {"users": []})
        if participant.user:
            entry["users"].append(participant.user)
        else:
            whole_partner.add(participant.partner_id)
    for partner_id in whole_partner:
        invited[partner_id] = {"users": []}  # every user of the partner
    for entry in invited.values():
        entry["users"].sort()
    return {
        "id": case.id,
        "table": case.table_id or case.proposed_table,
        "phase": case.phase,
        "kind": case.kind,
        "registered_by": case.registered_by_partner,
        "participants": invited,
        "procesregisseur": _regisseur(case.procesregisseur_partner, case.procesregisseur_user),
        "casusregisseur": _regisseur(case.casusregisseur_partner, case.casusregisseur_user),
    }


def _regisseur(partner: str | None, user: str | None) -> dict[str, str] | None:
    if partner is None or user is None:
        return None
    return {"partner": partner, "user": user}
