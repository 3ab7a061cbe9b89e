"""The privacy officer's answers as the API shapes them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from hub.identity.registry import ApprovalQuorum
from hub.policy_review import diff as diffing
from hub.policy_review.governance import SuiteDiff, canonical_digest
from hub.policy_review.models import (
    ACTIVE,
    PolicyApproval,
    PolicyVersion,
    ProtectedSuiteApproval,
    ProtectedTestSuite,
)
from hub.policy_review.schemas import (
    ApprovalOut,
    ChangeOut,
    DiffOut,
    PersonOut,
    PolicyFileOut,
    PolicyVersionOut,
    ProtectedSuiteOut,
    QuorumOut,
    SimulatedFactOut,
    SimulatedViewerOut,
    SimulationOut,
    SuiteDiffOut,
    SuiteRunOut,
    TestSummaryOut,
    TypeChangeOut,
    VersionChecksOut,
)
from hub.policy_review.simulate import (
    Simulation,
)


def simulation_out(simulation: Simulation) -> SimulationOut:
    facts = [
        SimulatedFactOut(
            id=f.id,
            type=f.meta.type,
            title=f.meta.title,
            domain=f.meta.domain,
            sensitivity=f.meta.sensitivity,
            publisher_kind=f.meta.publisher_kind,
            shareable=f.meta.shareable,
            published_by_viewer=f.meta.published_by_viewer,
            level=f.decision.level,
            released_fields=list(f.decision.fields),
            withheld_fields=list(f.decision.withheld_fields),
            never_shared=list(f.meta.never_shared),
            rule=f.decision.rule,
            rule_title=f.decision.rule_title,
            source=f.decision.source,
            reason=f.decision.reason,
        )
        for f in simulation.facts
    ]
    viewer = simulation.viewer
    return SimulationOut(
        version=simulation.version,
        table=simulation.table,
        phase=simulation.phase,
        purpose=simulation.purpose,
        case_id=simulation.case_id,
        viewer=SimulatedViewerOut(
            partner_kind=viewer.partner_kind,
            roles=list(viewer.roles),
            partner=viewer.partner,
            invited=viewer.invited,
        ),
        facts=facts,
        levels=dict(Counter(f.level for f in facts)),
    )


def diff_out(result: diffing.DiffResult, *, table: str | None) -> DiffOut:
    changes = [
        ChangeOut(
            table=c.table,
            phase=c.phase,
            purpose=c.purpose,
            viewer=c.viewer,
            viewer_label=c.viewer_label,
            scope=c.scope,
            domain=c.domain,
            fact_type=c.fact_type,
            variants=list(c.variants),
            old_level=c.old_level,
            new_level=c.new_level,
            old_rule=c.old_rule,
            new_rule=c.new_rule,
            direction=c.direction,
            fact_types=[
                TypeChangeOut(
                    type=t.type,
                    fields_added=list(t.fields_added),
                    fields_removed=list(t.fields_removed),
                )
                for t in c.types
            ],
            text=c.text,
        )
        for c in result.changes
    ]
    out = DiffOut(
        old=result.old,
        new=result.new,
        table=table,
        exhaustive=result.exhaustive,
        contexts=result.contexts,
        decisions=result.decisions,
        reason_only=result.reason_only,
        sentinels={f"{t}/{p}": s for (t, p), s in result.sentinels.items()},
        changes=changes,
        summary=dict(Counter(c.direction for c in changes)),
        digest="",
    )
    out.digest = diff_digest(out)
    return out


def diff_digest(out: DiffOut) -> str:
    """SHA-256 over the canonical JSON of the diff as shown, without the digest itself."""
    return canonical_digest(out.model_dump(mode="json", exclude={"digest"}))


def suite_diff_out(diff: SuiteDiff) -> SuiteDiffOut:
    return SuiteDiffOut.model_validate({**diff.as_json(), "digest": diff.digest})


def _loader(partner: str | None, user: str | None) -> PersonOut | None:
    return PersonOut(partner=partner, user=user) if partner and user else None


def _approvals_out(
    approvals: Sequence[PolicyApproval] | Sequence[ProtectedSuiteApproval],
    *,
    base: str | None,
    counted: Sequence[str],
) -> list[ApprovalOut]:
    out = []
    for a in approvals:
        against = a.base_version if isinstance(a, PolicyApproval) else a.base_suite
        out.append(
            ApprovalOut(
                partner=a.approver_partner,
                user=a.approver_user,
                approved_at=a.approved_at,
                against=against,
                diff_digest=a.diff_digest,
                counts=against is not None and against == base and a.approver_partner in counted,
            )
        )
    return out


def _quorum(quorum: ApprovalQuorum) -> QuorumOut:
    return QuorumOut(approvals=quorum.approvals, key_partners_only=quorum.key_partners_only)


def version_out(
    row: PolicyVersion,
    approvals: Sequence[PolicyApproval],
    *,
    quorum: ApprovalQuorum,
    base: str | None,
    counted: Sequence[str],
) -> PolicyVersionOut:
    """`base`: the active version now (approvals on a diff against another do not count);
    `counted`: the partners whose approvals count now."""
    return PolicyVersionOut(
        version=row.version,
        status=row.status,
        active=row.status == ACTIVE,
        origin=row.origin,
        files=[PolicyFileOut.model_validate(f) for f in row.files],
        loaded_at=row.loaded_at,
        loaded_by=_loader(row.loaded_by_partner, row.loaded_by_user),
        approvals=_approvals_out(approvals, base=base, counted=counted),
        approvals_needed=quorum.approvals,
        quorum=_quorum(quorum),
        approvals_counted=list(counted),
        tests_passed=row.tests_passed,
        tests=TestSummaryOut.model_validate(row.test_summary) if row.test_summary else None,
        checks=VersionChecksOut.model_validate(row.checks) if row.checks else None,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
    )


def suite_out(
    row: ProtectedTestSuite,
    approvals: Sequence[ProtectedSuiteApproval],
    *,
    quorum: ApprovalQuorum,
    base: str | None,
    counted: Sequence[str],
) -> ProtectedSuiteOut:
    return ProtectedSuiteOut(
        suite=row.suite,
        status=row.status,
        active=row.status == ACTIVE,
        origin=row.origin,
        files=[PolicyFileOut.model_validate(f) for f in row.files],
        loaded_at=row.loaded_at,
        loaded_by=_loader(row.loaded_by_partner, row.loaded_by_user),
        approvals=_approvals_out(approvals, base=base, counted=counted),
        approvals_needed=quorum.approvals,
        quorum=_quorum(quorum),
        approvals_counted=list(counted),
        checks=SuiteRunOut.model_validate(row.checks) if row.checks else None,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
    )
