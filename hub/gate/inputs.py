"""The policy input, built in one place with one shape (ADR 0102).

Every question the hub asks the Rego policy -- may this viewer do this action, publish this
fact, see these facts -- takes its input from the builders here, so the policy reads the same
field names whoever asks: the gate for real requests, the privacy officer's simulation and
diff for described viewers and synthetic cases. Only metadata goes in (ids, kinds, roles,
table, phase, fact type, domain, sensitivity, publisher): never content, never a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, NotRequired, TypedDict

from hub.cases.models import Case, InvitationRecord
from hub.facts.catalog import FactType
from hub.facts.models import FactRecord
from hub.identity.viewer import Viewer


class ViewerInput(TypedDict):
    partner: str
    partner_kind: str
    user: str
    roles: list[str]


class RegisseurInput(TypedDict):
    partner: str
    user: str


class InvitationInput(TypedDict):
    #: empty: every user of the partner takes part; else only the named users
    users: list[str]


class CaseInput(TypedDict):
    id: str
    table: str
    phase: str
    kind: str
    registered_by: str
    participants: dict[str, InvitationInput]
    procesregisseur: RegisseurInput | None
    casusregisseur: RegisseurInput | None


class CitedFactInput(TypedDict):
    sensitivity: str
    publisher_kind: str


class FactInput(TypedDict):
    type: str
    domain: str
    sensitivity: str
    publisher: str
    publisher_kind: str
    shareable: bool
    #: field name -> disclosure class (from the fact type's schema annotations)
    fields: dict[str, str]
    #: a plan note only: the facts it is written from (their category carries over)
    cites: NotRequired[list[CitedFactInput]]


class PublishedFactInput(TypedDict):
    type: str
    domain: str
    sensitivity: str


class ActionInput(TypedDict):
    viewer: ViewerInput
    purpose: str
    action: str
    case: CaseInput | Mapping[str, Any] | None
    target: dict[str, Any] | None


class PublishInput(TypedDict):
    viewer: ViewerInput
    purpose: str
    case: CaseInput | Mapping[str, Any]
    fact: PublishedFactInput


class DecisionsInput(TypedDict):
    viewer: ViewerInput
    purpose: str
    case: CaseInput | Mapping[str, Any]
    facts: Mapping[str, FactInput]


def viewer_input(partner: str, partner_kind: str, user: str, roles: Iterable[str]) -> ViewerInput:
    """A viewer as the policy reads it: ids and roles, never a display name."""
    return {
        "partner": partner,
        "partner_kind": partner_kind,
        "user": user,
        "roles": sorted({str(r) for r in roles}),
    }


def of_viewer(viewer: Viewer) -> ViewerInput:
    return viewer_input(
        viewer.partner, viewer.partner_kind.value, viewer.user, (r.value for r in viewer.roles)
    )


def case_input(case: Case, participants: Iterable[InvitationRecord]) -> CaseInput:
    """A case as the policy reads it: ids, table, phase, who takes part; no content."""
    invited: dict[str, InvitationInput] = {}
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
    return case_fields(
        id=case.id,
        table=case.table_id or case.proposed_table,
        phase=case.phase,
        kind=case.kind,
        registered_by=case.registered_by_partner,
        participants=invited,
        procesregisseur=regisseur(case.procesregisseur_partner, case.procesregisseur_user),
        casusregisseur=regisseur(case.casusregisseur_partner, case.casusregisseur_user),
    )


def case_fields(
    *,
    id: str,
    table: str,
    phase: str,
    kind: str,
    registered_by: str,
    participants: Mapping[str, InvitationInput],
    procesregisseur: RegisseurInput | None,
    casusregisseur: RegisseurInput | None,
) -> CaseInput:
    """A case from its parts: a stored case (`case_input`) or a described one (simulation)."""
    return {
        "id": id,
        "table": table,
        "phase": phase,
        "kind": kind,
        "registered_by": registered_by,
        "participants": {p: {"users": list(i["users"])} for p, i in participants.items()},
        "procesregisseur": procesregisseur,
        "casusregisseur": casusregisseur,
    }


def fact_input(
    *,
    type: str,
    domain: str,
    sensitivity: str,
    publisher: str,
    publisher_kind: str,
    shareable: bool,
    fields: Mapping[str, str],
) -> FactInput:
    return {
        "type": type,
        "domain": domain,
        "sensitivity": sensitivity,
        "publisher": publisher,
        "publisher_kind": publisher_kind,
        "shareable": shareable,
        "fields": dict(fields),
    }


def of_fact(fact: FactRecord, fact_type: FactType) -> FactInput:
    """A stored fact as the policy reads it: its clear metadata columns and its type's
    disclosure classes. The content stays sealed."""
    return fact_input(
        type=fact.fact_type,
        domain=fact.life_domain,
        sensitivity=fact.sensitivity,
        publisher=fact.publisher_partner,
        publisher_kind=fact.publisher_kind,
        shareable=fact.shareable,
        fields=fact_type.disclosure_classes(),
    )


def stored_fact_input(fact: FactRecord, fields: dict[str, str]) -> FactInput:
    """`of_fact` with the type's disclosure classes given, and shared, not copied: the gate
    builds one mapping per type for a whole batch (the input is only read)."""
    return {
        "type": fact.fact_type,
        "domain": fact.life_domain,
        "sensitivity": fact.sensitivity,
        "publisher": fact.publisher_partner,
        "publisher_kind": fact.publisher_kind,
        "shareable": fact.shareable,
        "fields": fields,
    }


#: The fact type the policy decides a plan part's text as, per the part's sensitivity
#: (schemas/plan.note*.1.json; ADR 0007). The catalogue fixes each type's sensitivity, so
#: every sensitivity has a type of its own; none of them is publishable through the facts API.
PLAN_NOTE_TYPES: Final[Mapping[str, str]] = {
    "ordinary": "plan.note/1",
    "special": "plan.note_special/1",
    "criminal": "plan.note_criminal/1",
}


def plan_part_input(
    *,
    domain: str | None,
    sensitivity: str,
    author: str,
    author_kind: str,
    fields: Mapping[str, str],
    cites: Iterable[tuple[str, str]] = (),
) -> FactInput:
    """A text-bearing part of a plan (an analysis, the risk assessment, a goal, an
    intervention, a monitoring note) as the policy reads it: a plan-note fact of the part's
    life domain and sensitivity, published by the partner that wrote it. Never its text.

    A part recorded before parts carried a life domain goes in with the empty domain, which
    the catalogue does not know: the policy withholds it (``fact_not_in_catalogue``)."""
    part = fact_input(
        type=PLAN_NOTE_TYPES[sensitivity],
        domain=domain or "",
        sensitivity=sensitivity,
        publisher=author,
        publisher_kind=author_kind,
        shareable=False,
        fields=fields,
    )
    part["cites"] = [
        {"sensitivity": cited_sensitivity, "publisher_kind": kind}
        for cited_sensitivity, kind in sorted(set(cites))
    ]
    return part


def action_input(
    viewer: ViewerInput,
    purpose: str,
    action: str,
    case: CaseInput | Mapping[str, Any] | None,
    target: Mapping[str, Any] | None = None,
) -> ActionInput:
    return {
        "viewer": viewer,
        "purpose": purpose,
        "action": action,
        "case": case,
        "target": dict(target) if target is not None else None,
    }


def publish_input(
    viewer: ViewerInput,
    purpose: str,
    case: CaseInput | Mapping[str, Any],
    *,
    type: str,
    domain: str,
    sensitivity: str,
) -> PublishInput:
    return {
        "viewer": viewer,
        "purpose": purpose,
        "case": case,
        "fact": {"type": type, "domain": domain, "sensitivity": sensitivity},
    }


def decisions_input(
    viewer: ViewerInput,
    purpose: str,
    case: CaseInput | Mapping[str, Any],
    facts: Mapping[str, FactInput],
) -> DecisionsInput:
    return {"viewer": viewer, "purpose": purpose, "case": case, "facts": facts}


class IdentityInput(TypedDict):
    viewer: ViewerInput
    purpose: str
    case: CaseInput | Mapping[str, Any]


def identity_input(
    viewer: ViewerInput, purpose: str, case: CaseInput | Mapping[str, Any]
) -> IdentityInput:
    """The identity question: who the case is about, for this viewer and purpose (no facts)."""
    return {"viewer": viewer, "purpose": purpose, "case": case}


def regisseur(partner: str | None, user: str | None) -> RegisseurInput | None:
    if partner is None or user is None:
        return None
    return {"partner": partner, "user": user}
