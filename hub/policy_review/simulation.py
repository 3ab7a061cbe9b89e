"""Simulation ("wat zou X zien?"): a described viewer, or a real case the officer's partner
takes part in, decided under a stored version. Decisions and field names only, never content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.entry import Action
from hub.cases.models import Case
from hub.cases.repository import CaseRepository
from hub.facts.catalog import FactTypeCatalog, UnknownFactType
from hub.facts.repository import FactRepository
from hub.gate.inputs import CaseInput
from hub.identity.viewer import Viewer
from hub.policy_review.errors import InvalidSimulation
from hub.policy_review.models import ACTIVE
from hub.policy_review.presenters import simulation_out
from hub.policy_review.recording import StoredBundle
from hub.policy_review.schemas import (
    SimulationIn,
    SimulationOut,
)
from hub.policy_review.simulate import (
    DescribedViewer,
    FactMeta,
    FactSpec,
    SimulatedFact,
    Simulation,
    decide,
    never_shared_of,
    simulate_synthetic,
)
from hub.policy_review.usecase import PolicyReviewBase, log
from hub.policy_review.versions import (
    ReviewedVersion,
)
from hub.rego.errors import PolicyError
from hub.vocabulary import Purpose, Role


class SimulationService(PolicyReviewBase):
    # -- simulation ---------------------------------------------------------------------------

    def simulate(self, viewer: Viewer, body: SimulationIn) -> SimulationOut:
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "simulate_policy")
            described = self._described_viewer(body)
            specs = self._specs(body) if body.case_id is None else []
            row = self._resolve(
                session, viewer, body.version or ACTIVE, Action.POLICY_SIMULATE, version
            )
            stored = StoredBundle(row.version, row.bundle or b"")
            case_part: _CaseSnapshot | None = None
            if body.case_id is not None:
                case_part = self._case_snapshot(session, viewer, body.case_id)
            reason = f"simulated {described.partner_kind} as {'/'.join(described.roles)}" + (
                " on a real case: decisions and field names only" if case_part else ""
            )
            self._log(
                session,
                viewer,
                Action.POLICY_SIMULATE,
                case_id=case_part.case_id if case_part else None,
                object_ids=[row.version, *(case_part.facts if case_part else {})],
                pseudonyms=case_part.pseudonyms if case_part else (),
                reason=reason,
                policy_version=row.version,
            )
        reviewed = self._reviewed(stored)
        simulation: Simulation | None = None
        try:
            if case_part is None:
                simulation = self._simulate_synthetic(reviewed, described, body, specs)
            else:
                simulation = self._simulate_case(reviewed, described, body, case_part)
        except PolicyError as exc:
            log.error("simulation_failed", reason=exc.reason[:200])
        if simulation is None:  # raised here, not in the except: see versions.prepare_candidate
            raise InvalidSimulation(
                "The policy version could not decide this simulation (it fails closed)."
            )
        return simulation_out(simulation)

    def _described_viewer(self, body: SimulationIn) -> DescribedViewer:
        given = body.viewer
        kind = given.partner_kind.value if given.partner_kind else None
        if given.partner is not None:
            partner = self._registry.partners.get(given.partner)
            if partner is None:
                raise InvalidSimulation("The viewer's partner is not in the network registry.")
            if kind is not None and kind != partner.kind.value:
                raise InvalidSimulation("The viewer's partner is of another kind than given.")
            kind = partner.kind.value
        assert kind is not None  # the schema demands a kind or a partner
        roles = tuple(sorted({r.value for r in given.roles}))
        return DescribedViewer(
            partner_kind=kind,
            roles=roles,
            partner=given.partner or "simulated-viewer",
            user=given.user or "simulated-user",
            invited=True if given.invited is None else given.invited,
        )

    def _specs(self, body: SimulationIn) -> list[FactSpec]:
        catalog: FactTypeCatalog = self._catalog
        specs = [
            FactSpec(
                type=t,
                publisher_kind=body.publisher_kind.value if body.publisher_kind else None,
                shareable=body.shareable,
            )
            for t in body.fact_types
        ]
        specs += [
            FactSpec(
                type=f.type,
                domain=f.domain,
                publisher_kind=f.publisher_kind.value if f.publisher_kind else None,
                shareable=f.shareable,
                published_by_viewer=f.published_by_viewer,
            )
            for f in body.facts
        ]
        if not specs:
            specs = [
                FactSpec(
                    type=t.id,
                    publisher_kind=body.publisher_kind.value if body.publisher_kind else None,
                    shareable=body.shareable,
                )
                for t in catalog.types()
            ]
        for spec in specs:
            if spec.type not in catalog:
                raise UnknownFactType(spec.type)
        return specs

    def _simulate_synthetic(
        self,
        reviewed: ReviewedVersion,
        described: DescribedViewer,
        body: SimulationIn,
        specs: list[FactSpec],
    ) -> Simulation:
        assert body.table is not None and body.phase is not None  # the schema demands them
        purpose = body.purpose.value if body.purpose else phase_purpose(body.phase.value)
        return simulate_synthetic(
            reviewed,
            self._catalog,
            viewer=described,
            table=body.table.value,
            phase=body.phase.value,
            purpose=purpose,
            specs=specs,
        )

    def _case_snapshot(self, session: Session, viewer: Viewer, case_id: str) -> _CaseSnapshot:
        """The case's policy metadata and its current facts' metadata: clear columns only.

        The policy's `simulate_on_case` decides who may look: a privacy officer or auditor
        of a partner that takes part in the case, or of the Veiligheidshuis. Anyone else
        gets exactly what an unknown case id gets (404), and the refusal is logged."""
        case: Case = self._gate.load_case(session, viewer, case_id)
        policy_case = self._gate.case_input(session, case)
        self._gate.authorize_on_case(session, viewer, policy_case, "simulate_on_case")
        facts: dict[str, tuple[str, str, str, str, str, bool]] = {
            f.id: (
                f.fact_type,
                f.life_domain,
                f.sensitivity,
                f.publisher_partner,
                f.publisher_kind,
                f.shareable,
            )
            for f in FactRepository(session).list_current_for_case(case.id)
        }
        return _CaseSnapshot(
            case_id=case.id,
            policy_case=policy_case,
            facts=facts,
            pseudonyms=CaseRepository(session).pseudonyms_of_case(case.id),
        )

    def _simulate_case(
        self,
        reviewed: ReviewedVersion,
        described: DescribedViewer,
        body: SimulationIn,
        snapshot: _CaseSnapshot,
    ) -> Simulation:
        case: dict[str, Any] = dict(snapshot.policy_case)
        if body.phase is not None:
            case["phase"] = body.phase.value
        real_partner = body.viewer.partner is not None
        if not real_partner:
            case = _place_simulated_viewer(case, described)
        invited = described.partner in case.get("participants", {})
        described = DescribedViewer(
            described.partner_kind, described.roles, described.partner, described.user, invited
        )
        facts: dict[str, FactMeta] = {}
        for fact_id, (
            type_id,
            domain,
            sensitivity,
            publisher,
            kind,
            shareable,
        ) in snapshot.facts.items():
            try:
                fact_type = self._catalog.get(type_id)
            except UnknownFactType:
                continue
            facts[fact_id] = FactMeta(
                type=type_id,
                title=fact_type.title,
                domain=domain,
                sensitivity=sensitivity,
                publisher=publisher,
                publisher_kind=kind,
                shareable=shareable,
                published_by_viewer=publisher == described.partner,
                fields=fact_type.disclosure_classes(),
                never_shared=never_shared_of(reviewed, type_id),
            )
        phase = str(case.get("phase"))
        purpose = body.purpose.value if body.purpose else phase_purpose(phase)
        answers = decide(
            reviewed, viewer=described.policy_input(), purpose=purpose, case=case, facts=facts
        )
        return Simulation(
            version=reviewed.version,
            viewer=described,
            table=str(case.get("table")),
            phase=phase,
            purpose=purpose,
            case_id=snapshot.case_id,
            facts=tuple(SimulatedFact(i, facts[i], answers[i]) for i in facts),
        )


@dataclass(frozen=True)
class _CaseSnapshot:
    case_id: str
    policy_case: CaseInput
    #: fact id -> (type, domain, sensitivity, publisher, publisher kind, shareable)
    facts: dict[str, tuple[str, str, str, str, str, bool]]
    pseudonyms: list[str]


def phase_purpose(phase: str) -> str:
    """The purpose that fits a phase by default (the phase's own name, audit once closed)."""
    values = {p.value for p in Purpose}
    return phase if phase in values else Purpose.AUDIT.value


def _place_simulated_viewer(case: dict[str, Any], viewer: DescribedViewer) -> dict[str, Any]:
    """A real case with the described (simulated) viewer standing in it as described."""
    out = dict(case)
    participants = dict(out.get("participants") or {})
    if viewer.invited and {"participant", "publisher"} & set(viewer.roles):
        participants[viewer.partner] = {"users": []}
    out["participants"] = participants
    me = {"partner": viewer.partner, "user": viewer.user}
    if Role.PROCESREGISSEUR.value in viewer.roles:
        out["procesregisseur"] = me
    if Role.CASUSREGISSEUR.value in viewer.roles:
        out["casusregisseur"] = me
    return out
