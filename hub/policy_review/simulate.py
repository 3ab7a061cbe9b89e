"""Simulation: what would this viewer see, and why, under one policy version.

Why synthetic facts come from the fact-type catalog (hub.facts.catalog): the policy decides on
metadata only (type, life domain, sensitivity, publisher kind, shareable, the disclosure class
of each field), and the catalog is where the hub takes that metadata from when a real fact is
published. A synthetic fact therefore gets exactly the decision a real one of that type would
get, without any content existing.

Why the answer names fields and never values: a simulation, also one on a real case, is a
review of decisions. It reads fact metadata from clear columns and never touches the vault,
so there is no content to show (ADR 0103).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hub.facts.catalog import FactType, FactTypeCatalog
from hub.gate import inputs
from hub.gate.inputs import CaseInput, FactInput, ViewerInput
from hub.policy_review.versions import ReviewedVersion
from hub.rego.annotations import RuleAnnotation
from hub.rego.decisions import FactDecision
from hub.vocabulary import LifeDomain, PartnerKind

SIMULATED_VIEWER: Final = "simulated-viewer"
SIMULATED_USER: Final = "simulated-user"
SIMULATED_CASE: Final = "simulated-case"
#: Roles that make a viewer a participant once its partner is invited (network.json).
PARTICIPANT_ROLES: Final = frozenset({"participant", "publisher"})


@dataclass(frozen=True)
class DescribedViewer:
    """A viewer described by a privacy officer: kind, roles, and optionally a partner id.

    `invited`: whether the viewer's partner is invited to the case (a participant). Regisseur
    roles make the viewer the case's procesregisseur / casusregisseur.
    """

    partner_kind: str
    roles: tuple[str, ...]
    partner: str = SIMULATED_VIEWER
    user: str = SIMULATED_USER
    invited: bool = True

    def policy_input(self) -> ViewerInput:
        return inputs.viewer_input(self.partner, self.partner_kind, self.user, self.roles)


@dataclass(frozen=True)
class FactSpec:
    """A synthetic fact as asked for: a type, and optionally domain, publisher and flags."""

    type: str
    domain: str | None = None
    publisher_kind: str | None = None
    shareable: bool = False
    published_by_viewer: bool = False


@dataclass(frozen=True)
class FactMeta:
    """What the policy sees of a fact, plus what a privacy officer needs to read the answer."""

    type: str
    title: str
    domain: str
    sensitivity: str
    publisher: str
    publisher_kind: str
    shareable: bool
    published_by_viewer: bool
    fields: Mapping[str, str]
    never_shared: tuple[str, ...] = ()

    def policy_input(self) -> FactInput:
        return inputs.fact_input(
            type=self.type,
            domain=self.domain,
            sensitivity=self.sensitivity,
            publisher=self.publisher,
            publisher_kind=self.publisher_kind,
            shareable=self.shareable,
            fields=self.fields,
        )


@dataclass(frozen=True)
class Explained:
    """A decision with its rule's annotation: the "why" a privacy officer reads."""

    level: str
    fields: tuple[str, ...]
    withheld_fields: tuple[str, ...]
    rule: str
    rule_title: str
    source: str
    reason: str


@dataclass(frozen=True)
class SimulatedFact:
    id: str
    meta: FactMeta
    decision: Explained


@dataclass(frozen=True)
class Simulation:
    version: str
    viewer: DescribedViewer
    table: str
    phase: str
    purpose: str
    case_id: str | None
    facts: tuple[SimulatedFact, ...]


def default_publisher_kind(fact_type: FactType) -> str:
    """The kind a fact type's namespace names (police.incident -> police), else the first."""
    namespace = fact_type.id.split(".", 1)[0]
    kinds = sorted(k.value for k in fact_type.publisher_kinds)
    if namespace in kinds:
        return namespace
    return kinds[0] if kinds else PartnerKind.MUNICIPALITY.value


def never_shared_of(reviewed: ReviewedVersion, type_id: str) -> tuple[str, ...]:
    entry = reviewed.data.get("fact_types", {}).get(type_id, {})
    names = entry.get("never_shared", {}) if isinstance(entry, dict) else {}
    return tuple(sorted(names)) if isinstance(names, dict) else ()


def synthetic_facts(
    catalog: FactTypeCatalog,
    specs: Sequence[FactSpec],
    viewer: DescribedViewer,
    reviewed: ReviewedVersion,
) -> dict[str, FactMeta]:
    """Synthetic fact metadata, ids s1, s2, ...; a type with domain "*" and no domain given
    (the involvement signal) becomes one fact per life domain."""
    out: dict[str, FactMeta] = {}
    for spec in specs:
        fact_type = catalog.get(spec.type)
        generic = policy_domain(reviewed, fact_type.id) == "*"
        if spec.domain is not None:
            domains: Iterable[str] = [spec.domain]
        elif generic:
            domains = [d.value for d in LifeDomain]
        else:
            domains = [fact_type.life_domain.value]
        kind = spec.publisher_kind or default_publisher_kind(fact_type)
        for domain in domains:
            out[f"s{len(out) + 1}"] = FactMeta(
                type=fact_type.id,
                title=fact_type.title,
                domain=domain,
                sensitivity=fact_type.sensitivity.value,
                publisher=viewer.partner if spec.published_by_viewer else f"simulated-{kind}",
                publisher_kind=viewer.partner_kind if spec.published_by_viewer else kind,
                shareable=spec.shareable,
                published_by_viewer=spec.published_by_viewer,
                fields=fact_type.disclosure_classes(),
                never_shared=never_shared_of(reviewed, fact_type.id),
            )
    return out


def policy_domain(reviewed: ReviewedVersion, type_id: str) -> str | None:
    """The life domain the policy's fact-type catalogue gives a type ("*": any, per fact)."""
    entry = reviewed.data.get("fact_types", {}).get(type_id)
    domain = entry.get("domain") if isinstance(entry, dict) else None
    return domain if isinstance(domain, str) else None


def synthetic_case(table: str, phase: str, viewer: DescribedViewer) -> CaseInput:
    """A case at `table` in `phase` in which `viewer` stands as described."""
    invited = viewer.invited and bool(PARTICIPANT_ROLES & set(viewer.roles))
    me = inputs.regisseur(viewer.partner, viewer.user)
    return inputs.case_fields(
        id=SIMULATED_CASE,
        table=table,
        phase=phase,
        kind="person",
        registered_by="simulated-registrar",
        participants={viewer.partner: {"users": []}} if invited else {},
        procesregisseur=me
        if "procesregisseur" in viewer.roles
        else inputs.regisseur("simulated-zvh", "simulated-procesregisseur"),
        casusregisseur=me if "casusregisseur" in viewer.roles else None,
    )


def annotation_for(annotations: Mapping[str, RuleAnnotation], rule: str) -> RuleAnnotation | None:
    """The annotation of a decision's rule (decisions name the rule without its package)."""
    found = annotations.get(f"vhhub.disclosure.{rule}")
    if found is not None:
        return found
    return next((a for a in annotations.values() if a.name == rule), None)


def explain(
    decision: FactDecision, meta: FactMeta, annotations: Mapping[str, RuleAnnotation]
) -> Explained:
    annotation = annotation_for(annotations, decision.rule)
    return Explained(
        level=decision.level.value,
        fields=decision.fields,
        withheld_fields=tuple(sorted(set(meta.fields) - set(decision.fields))),
        rule=decision.rule,
        rule_title=annotation.title if annotation else "",
        source=annotation.source if annotation else "",
        reason=decision.reason,
    )


def decide(
    reviewed: ReviewedVersion,
    *,
    viewer: ViewerInput,
    purpose: str,
    case: CaseInput | Mapping[str, Any],
    facts: Mapping[str, FactMeta],
) -> dict[str, Explained]:
    """One batch decision under `reviewed`, explained per fact id (PolicyError propagates)."""
    if not facts:
        return {}
    decisions = reviewed.engine.decide_batch(
        inputs.decisions_input(
            viewer,
            purpose,
            case,
            {fact_id: meta.policy_input() for fact_id, meta in facts.items()},
        )
    )
    return {
        fact_id: explain(decisions[fact_id], meta, reviewed.annotations)
        for fact_id, meta in facts.items()
    }


def simulate_synthetic(
    reviewed: ReviewedVersion,
    catalog: FactTypeCatalog,
    *,
    viewer: DescribedViewer,
    table: str,
    phase: str,
    purpose: str,
    specs: Sequence[FactSpec],
) -> Simulation:
    """What `viewer` would see of these synthetic facts at `table` in `phase` for `purpose`."""
    facts = synthetic_facts(catalog, specs, viewer, reviewed)
    answers = decide(
        reviewed,
        viewer=viewer.policy_input(),
        purpose=purpose,
        case=synthetic_case(table, phase, viewer),
        facts=facts,
    )
    return Simulation(
        version=reviewed.version,
        viewer=viewer,
        table=table,
        phase=phase,
        purpose=purpose,
        case_id=None,
        facts=tuple(SimulatedFact(i, facts[i], answers[i]) for i in facts),
    )


def render_text(simulation: Simulation) -> str:
    """A plain-text answer for the CLI: one block per fact, fields by name only."""
    v = simulation.viewer
    lines = [
        f"policy version {simulation.version[:12]}: {v.partner_kind} as {', '.join(v.roles)}"
        f"{'' if v.invited else ' (not invited)'} at {simulation.table}, phase "
        f"{simulation.phase}, purpose {simulation.purpose}",
        "",
    ]
    for fact in simulation.facts:
        meta, d = fact.meta, fact.decision
        flags = [meta.sensitivity]
        if meta.shareable:
            flags.append("shareable")
        if meta.published_by_viewer:
            flags.append("own fact")
        lines.append(
            f"{fact.id} {meta.type} [{meta.domain}; {', '.join(flags)}; from "
            f"{meta.publisher_kind}]: {d.level.upper()}"
        )
        lines.append(f"    shown:    {', '.join(d.fields) or '-'}")
        lines.append(f"    withheld: {', '.join(d.withheld_fields) or '-'}")
        lines.append(f"    why:      {d.rule} - {d.rule_title}")
        lines.append(f"              {d.reason}")
        if d.source:
            lines.append(f"    source:   {d.source}")
    return "\n".join(lines) + "\n"
