"""The gate: the only code that asks the policy engine, and the only code that mints permits.

Every case action, every publish and every disclosure passes here. The gate builds the policy
input (hub.gate.inputs), asks the serving engine (hub.rego.serving), logs what it refuses, and
answers an allowed request with a permit (hub.gate.permits) that the vault demands before it
opens anything. An engine error, timeout or malformed answer denies the whole request: it is
logged as `policy.error` and answered 503 (fail closed), whichever question was asked.

Refusals are written in the caller's unit of work; they commit before the refusal answers,
because they are `hub.errors.Refusal`s (ADR 0003).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.errors import CaseShreddedRefusal
from hub.cases.models import Case
from hub.cases.repository import CaseRepository
from hub.errors import Forbidden, NotFound, PolicyUnavailable
from hub.facts.catalog import FactTypeCatalog, UnknownFactType
from hub.facts.models import FactRecord
from hub.gate import inputs
from hub.gate.inputs import CaseInput
from hub.gate.permits import (
    ActionPermit,
    FactPermit,
    IdentityPermit,
    MinutesPartPermit,
    PlanPartPermit,
    PlanPermit,
    _mint,
)
from hub.identity.models import Partner
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.metrics import fact_releases, policy_decision
from hub.rego.decisions import FactDecision, Verdict
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError
from hub.rego.serving import ServingEngine
from hub.vocabulary import CaseStatus, DisclosureLevel

log = get_logger("hub.policy")

#: The access-log action of each action in the policy's action catalogue
#: (policies/data/action_rules.json); a test holds the two to the same set.
ACTION_EVENTS: Final[Mapping[str, Action]] = {
    "register_case": Action.CASE_REGISTER,
    "take_case": Action.CASE_TAKE,
    "screen": Action.CASE_SCREEN,
    "triage": Action.CASE_TRIAGE,
    "invite": Action.CASE_INVITE,
    "withdraw_invitation": Action.CASE_WITHDRAW_INVITATION,
    "assign_casusregisseur": Action.CASE_ASSIGN_CASUSREGISSEUR,
    "schedule": Action.CASE_SCHEDULE,
    "change_phase": Action.CASE_CHANGE_PHASE,
    "close": Action.CASE_CLOSE,
    "read_case": Action.CASE_READ,
    "read_meeting_frame": Action.MEETING_READ,
    "correct_subject": Action.CASE_CORRECT_SUBJECT,
    "record_notice": Action.CASE_RECORD_NOTICE,
    "record_notice_as_registrant": Action.CASE_RECORD_NOTICE,
    "read_notices": Action.CASE_READ_NOTICES,
    "list_intake_queue": Action.CASE_READ,
    "list_caseload": Action.CASE_READ,
    "record_plan": Action.PLAN_RECORD,
    "monitor_plan": Action.PLAN_RECORD,
    "read_plan": Action.PLAN_READ,
    "read_log": Action.LOG_QUERY,
    "read_misuse_signals": Action.LOG_QUERY,
    "read_partner_log": Action.LOG_QUERY,
    "export_log": Action.LOG_EXPORT,
    "subject_access_report": Action.SUBJECT_ACCESS_REPORT,
    "read_policies": Action.POLICY_READ,
    "simulate_policy": Action.POLICY_SIMULATE,
    "simulate_on_case": Action.POLICY_SIMULATE,
    "load_policy": Action.POLICY_LOAD,
    "approve_policy": Action.POLICY_APPROVE,
    "schedule_meeting": Action.MEETING_SCHEDULE,
    "add_meeting_item": Action.MEETING_PLAN,
    "read_meeting": Action.MEETING_READ,
    "record_attendance": Action.MEETING_ATTENDANCE,
    "record_minutes": Action.MINUTES_RECORD,
    "read_minutes": Action.MINUTES_READ,
    "record_coordination": Action.CASE_RECORD_COORDINATION,
    "read_coordination": Action.CASE_READ,
    "read_statistics": Action.STATISTICS_READ,
    "see_shredded": Action.CASE_READ,
    "manage_subscriptions": Action.SUBSCRIPTION_LIST,
}


#: Actions that let a viewer know a case exists (see `Gate._sees`).
SEEING_ACTIONS: Final = ("read_case", "list_intake_queue")


@dataclass(frozen=True)
class OpenedCase:
    """A case a viewer was allowed to act on: the row, the policy's view of it, the permit."""

    case: Case
    policy: CaseInput
    permit: ActionPermit


@dataclass(frozen=True)
class PublishCheck:
    """One kind of fact a publish would store: what the publish policy looks at."""

    type: str
    domain: str
    sensitivity: str


@dataclass(frozen=True)
class PlanPart:
    """One text-bearing part of a plan, as the gate asks about it: metadata, never its text.

    `key` names the part in the read's log entry; `author` is the partner that wrote it (the
    plan-note's publisher); `owners` are the partners owning the intervention(s) the part
    belongs to (an intervention, its goal, its monitoring notes)."""

    key: str
    life_domain: str | None
    sensitivity: str
    author: str
    owners: tuple[str, ...] = ()
    #: (sensitivity, publisher kind) of each fact the part is written from
    cites: tuple[tuple[str, str], ...] = ()


#: Why a part the matrix would not release is read in full anyway (ADR 0007).
_WHOLE_PLAN_REASON: Final = (
    "The casusregisseur records the plan (the policy's record_plan) and reads all of it."
)
_RECORDER_REASON: Final = (
    "You recorded this part of the minutes (the policy's record_minutes), so you read its text."
)
_OWNER_REASON: Final = (
    "Your organisation owns this intervention and reports on it (the policy's monitor_plan), "
    "so it reads the intervention, its goal and its monitoring notes in full."
)


class Gate:
    def __init__(self, serving: ServingEngine, access_log: AccessLog, catalog: FactTypeCatalog):
        self._serving = serving
        self._log = access_log
        self._catalog = catalog

    # -- the serving version ------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The policy version every decision of this process carries now."""
        return self._serving.version

    def follow_active(self, *, force: bool = False) -> None:
        """Serve the version active in the database (before each request's work)."""
        self._serving.follow(force=force)

    def close(self) -> None:
        self._serving.close()

    # -- case actions ---------------------------------------------------------------------------

    def authorize(
        self, session: Session, viewer: Viewer, action: str, *, logged_as: Action | None = None
    ) -> ActionPermit:
        """The permit for an action on no case (register, read the log, review policies), or
        log the denial and raise 403. `logged_as` names the act in the denial's entry when one
        catalogue action covers several acts (``manage_subscriptions``)."""
        return self._authorize(
            session, viewer, action, None, None, hide_case=False, logged_as=logged_as
        )

    def _authorize(
        self,
        session: Session,
        viewer: Viewer,
        action: str,
        case: CaseInput | None,
        target: Mapping[str, Any] | None,
        *,
        hide_case: bool | None,
        logged_as: Action | None = None,
    ) -> ActionPermit:
        """The permit for `action`, or log the denial and raise 403 -- or 404 when the case is
        hidden: `hide_case` None means "hide unless the viewer may see the case at all"."""
        case_id = case["id"] if case is not None else None
        verdict = self._ask_action(session, viewer, action, case, target)
        if verdict.allowed:
            return _mint(
                ActionPermit,
                action=action,
                case_id=case_id,
                policy_version=verdict.policy_version,
                reason=verdict.reason,
            )
        if hide_case is None:
            hide_case = case is not None and not self._sees(session, viewer, case)
        self._log.append(
            session,
            Event(
                action=Action.CASE_DENIED if hide_case else logged_as or ACTION_EVENTS[action],
                outcome=Outcome.DENIED,
                case_id=case_id,
                reason=_short(f"{action}: {verdict.reason}"),
                policy_version=verdict.policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )
        if hide_case:
            raise NotFound()
        raise Forbidden(verdict.reason)

    def _sees(self, session: Session, viewer: Viewer, case: CaseInput) -> bool:
        """Whether the viewer may know the case exists: it may read it, or it stands in the
        intake queue the viewer takes cases from. Anyone else gets what an unknown id gets."""
        return any(self.allows(session, viewer, action, case) for action in SEEING_ACTIONS)

    def allows_without_case(
        self, session: Session, viewer: Viewer, action: str, target: Mapping[str, Any]
    ) -> bool:
        """Whether the policy allows an action on no case with this target, without logging a
        "no" (a filter, like `allows`); an engine failure is still a logged 503."""
        return self._ask_action(session, viewer, action, None, target).allowed

    def allows(self, session: Session, viewer: Viewer, action: str, case: CaseInput) -> bool:
        """Whether the policy allows `action`, for filtering a list: a "no" is not logged
        (the list's own entry names what was shown); an engine failure is (503)."""
        return self._ask_action(session, viewer, action, case, None).allowed

    def open_case(
        self,
        session: Session,
        viewer: Viewer,
        case_id: str,
        action: str,
        *,
        target: Mapping[str, Any] | None = None,
        for_update: bool = False,
    ) -> OpenedCase:
        """Load the case and authorise `action` on it.

        An unknown id and a case the viewer may not even read get the same logged 404; a
        member who may read the case but not do this gets a logged 403.
        """
        # the case and its invitations in one statement (ADR 0020)
        found, invitations = CaseRepository(session).get_with_invitations(
            case_id, for_update=for_update
        ) or (None, [])
        case = self._existing(session, viewer, found, invitations)
        policy = inputs.case_input(case, invitations)
        permit = self.authorize_on_case(session, viewer, policy, action, target=target)
        return OpenedCase(case=case, policy=policy, permit=permit)

    def load_case(
        self, session: Session, viewer: Viewer, case_id: str, *, for_update: bool = False
    ) -> Case:
        """The case, or a logged 404 when it does not exist (the same answer as 'not yours')."""
        return self._existing(
            session, viewer, CaseRepository(session).get(case_id, for_update=for_update)
        )

    def _existing(
        self,
        session: Session,
        viewer: Viewer,
        case: Case | None,
        invitations: Sequence[Any] | None = None,
    ) -> Case:
        """`case` as found, or the logged 404 of an unknown case. A shredded case is a logged
        410 only for a viewer the policy's ``see_shredded`` allows (one who stood in it, or an
        auditor); anyone else gets the logged 404 an unknown id gets (ADR 0009)."""
        if case is None:
            self._log.append(
                session,
                Event(action=Action.CASE_DENIED, outcome=Outcome.DENIED, reason="unknown case"),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise NotFound()
        if case.status == CaseStatus.SHREDDED:
            if invitations is None:
                invitations = CaseRepository(session).participants(case.id)
            policy = inputs.case_input(case, invitations)
            permit = self._authorize(session, viewer, "see_shredded", policy, None, hide_case=True)
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.DENIED,
                    case_id=case.id,
                    reason="case shredded",
                    policy_version=permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise CaseShreddedRefusal()
        return case

    @staticmethod
    def case_input(session: Session, case: Case) -> CaseInput:
        return inputs.case_input(case, CaseRepository(session).participants(case.id))

    def authorize_on_case(
        self,
        session: Session,
        viewer: Viewer,
        case: CaseInput,
        action: str,
        *,
        target: Mapping[str, Any] | None = None,
    ) -> ActionPermit:
        """The permit for `action` on `case`. A refusal is a logged 403 for a viewer who may
        see the case, and otherwise the logged 404 an unknown id gets (so an outsider cannot
        tell that the case exists, whatever it asks); a refused `read_case` is always 404."""
        hide = True if action == "read_case" else None
        return self._authorize(session, viewer, action, case, target, hide_case=hide)

    # -- publishing -----------------------------------------------------------------------------

    def authorize_publish(
        self,
        session: Session,
        viewer: Viewer,
        case: CaseInput,
        checks: Sequence[PublishCheck],
        *,
        pseudonyms: Sequence[str],
    ) -> str:
        """Every distinct kind of fact must be allowed; one refusal refuses the batch, logged.
        Returns the policy version that allowed it."""
        version = self.version
        refused: list[str] = []
        reason = ""
        for check in dict.fromkeys(checks):
            policy_input = inputs.publish_input(
                inputs.of_viewer(viewer),
                viewer.purpose.value,
                case,
                type=check.type,
                domain=check.domain,
                sensitivity=check.sensitivity,
            )
            engine = self._serving.current
            try:
                verdict = engine.allow_publish(policy_input)
            except PolicyError as exc:
                self._failed(session, viewer, engine, exc, case_id=case["id"])
            policy_decision("publish", "allowed" if verdict.allowed else "denied")
            version = verdict.policy_version
            if not verdict.allowed:
                refused.append(check.type.replace("/", ":"))
                reason = verdict.reason
        if refused:
            self._log.append(
                session,
                Event(
                    action=Action.FACT_PUBLISH_DENIED,
                    outcome=Outcome.DENIED,
                    case_id=case["id"],
                    object_ids=refused,
                    subject_pseudonyms=pseudonyms,
                    reason=reason[:200],
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise Forbidden(
                "The policy does not allow your organisation to publish these fact types "
                f"on this case in this phase: {', '.join(sorted(set(refused)))}."
            )
        return version

    # -- disclosure -----------------------------------------------------------------------------

    def release_facts(
        self, session: Session, viewer: Viewer, case: CaseInput, facts: Sequence[FactRecord]
    ) -> dict[str, FactPermit]:
        """One batch decision for `facts`, as a permit per fact id (level none included)."""
        if not facts:
            return {}
        # one disclosure-class mapping per fact type, shared by that type's facts: the input
        # is only read (encoded, deduplicated), and 200 fresh copies cost about 1 ms (ADR 0020)
        classes_of: dict[str, dict[str, str]] = {}
        fact_inputs: dict[str, inputs.FactInput] = {}
        for f in facts:
            classes = classes_of.get(f.fact_type)
            if classes is None:
                classes = self._catalog.get(f.fact_type).disclosure_classes()
                classes_of[f.fact_type] = classes
            fact_inputs[f.id] = inputs.stored_fact_input(f, classes)
        policy_input = inputs.decisions_input(
            inputs.of_viewer(viewer), viewer.purpose.value, case, fact_inputs
        )
        engine = self._serving.current
        try:
            decisions = engine.decide_batch(policy_input)
        except PolicyError as exc:
            self._failed(session, viewer, engine, exc, case_id=case["id"])
        fact_releases(decisions[f.id].level.value for f in facts)
        return {f.id: _fact_permit(case["id"], f.id, decisions[f.id]) for f in facts}

    def release_identity(self, session: Session, viewer: Viewer, case: CaseInput) -> IdentityPermit:
        """What `viewer` may see of who `case` is about (its subjects' identifying data and
        the registration reason), for the viewer's purpose in the case's phase. Level "nothing"
        is a permit with no classes; an engine failure is a logged 503."""
        policy_input = inputs.identity_input(inputs.of_viewer(viewer), viewer.purpose.value, case)
        engine = self._serving.current
        try:
            decision = engine.release_identity(policy_input)
        except PolicyError as exc:
            self._failed(session, viewer, engine, exc, case_id=case["id"])
        return _mint(
            IdentityPermit,
            case_id=case["id"],
            classes=decision.classes,
            reason=decision.reason,
            rule=decision.rule,
            policy_version=decision.policy_version,
        )

    def release_plan(self, session: Session, viewer: Viewer, case: CaseInput) -> PlanPermit:
        """Ask the policy for ``read_plan``: 404 for a viewer who may not read the case, 403
        for a member outside the plan's phases or purposes; both logged."""
        permit = self.authorize_on_case(session, viewer, case, "read_plan")
        return _mint(PlanPermit, case_id=case["id"], policy_version=permit.policy_version)

    def release_plan_parts(
        self,
        session: Session,
        viewer: Viewer,
        case: CaseInput,
        plan: PlanPermit,
        parts: Sequence[PlanPart],
    ) -> dict[str, PlanPartPermit]:
        """What `viewer` may read of each text-bearing part of a plan it may read (`plan`, the
        ``read_plan`` permit), as a permit per part key.

        Each part is a plan-note fact of its life domain and sensitivity, written by its
        author, and all of them go to the policy in one batch decision, like a briefing's
        facts: the matrix, the caps and ``publisher_sees_own`` decide. Two catalogue actions
        then widen it: a viewer the policy allows ``record_plan`` (the casusregisseur, who
        writes the next version) reads every part, and a viewer the policy allows
        ``monitor_plan`` on an intervention's owner reads that intervention, its goal and its
        monitoring notes. A "no" to either is not logged (the read's entry says what was
        released); an engine failure is a logged 503."""
        if plan.case_id != case["id"]:
            raise ValueError("the plan permit is for another case")
        if not parts:
            return {}
        fields, decisions = self._decide_notes(session, viewer, case, parts)
        permits = {p.key: _part_permit(case["id"], p.key, decisions[p.key]) for p in parts}
        withheld = [p for p in parts if not permits[p.key].releases_text]
        if not withheld:
            return permits
        whole = self._ask_action(session, viewer, "record_plan", case, None)
        owned: dict[str, Verdict] = {}
        if not whole.allowed:
            for owner in sorted({o for p in withheld for o in p.owners}):
                verdict = self._ask_action(session, viewer, "monitor_plan", case, {"owner": owner})
                if verdict.allowed:
                    owned[owner] = verdict
        for part in withheld:
            if whole.allowed:
                verdict, rule, reason = whole, "record_plan", _WHOLE_PLAN_REASON
            else:
                owning = next((o for o in part.owners if o in owned), None)
                if owning is None:
                    continue
                verdict, rule, reason = owned[owning], "monitor_plan", _OWNER_REASON
            permits[part.key] = _mint(
                PlanPartPermit,
                case_id=case["id"],
                part=part.key,
                level=DisclosureLevel.FULL,
                fields=tuple(
                    sorted(n for n, c in fields[part.sensitivity].items() if c != "never")
                ),
                reason=reason,
                rule=rule,
                policy_version=verdict.policy_version,
            )
        return permits

    def _decide_notes(
        self, session: Session, viewer: Viewer, case: CaseInput, parts: Sequence[PlanPart]
    ) -> tuple[dict[str, dict[str, str]], dict[str, FactDecision]]:
        """One batch decision for text-bearing parts, each as a plan-note fact of its life
        domain and sensitivity written by its author (ADR 0007): the plan-note types' field
        classes per sensitivity, and the policy's decision per part key."""
        try:
            fields = {
                sensitivity: dict(self._catalog.get(type_id).disclosure_classes())
                for sensitivity, type_id in inputs.PLAN_NOTE_TYPES.items()
            }
        except UnknownFactType:
            engine = self._serving.current
            self._failed(
                session,
                viewer,
                engine,
                PolicyError("a plan-note fact type is missing from the catalog"),
                case_id=case["id"],
            )
        kinds = {
            author: self._partner_kind(session, author) for author in {p.author for p in parts}
        }
        policy_input = inputs.decisions_input(
            inputs.of_viewer(viewer),
            viewer.purpose.value,
            case,
            {
                p.key: inputs.plan_part_input(
                    domain=p.life_domain,
                    sensitivity=p.sensitivity,
                    author=p.author,
                    author_kind=kinds[p.author],
                    fields=fields[p.sensitivity],
                    cites=p.cites,
                )
                for p in parts
            },
        )
        engine = self._serving.current
        try:
            decisions = engine.decide_batch(policy_input)
        except PolicyError as exc:
            self._failed(session, viewer, engine, exc, case_id=case["id"])
        return fields, decisions

    def release_minutes(
        self,
        session: Session,
        viewer: Viewer,
        case: CaseInput,
        read: ActionPermit,
        parts: Sequence[PlanPart],
        *,
        recorded_by_viewer: Collection[str] = (),
    ) -> dict[str, MinutesPartPermit]:
        """What `viewer` may read of each part of a case conference's minutes on `case`,
        given its ``read_minutes`` permit `read` (ADR 0013): exactly like plan parts, each
        part is a plan-note fact of its life domain and sensitivity written by its recorder's
        partner, decided in one batch (the matrix, the caps, ``publisher_sees_own``, so the
        recorder's organisation reads it as publisher). One catalogue action widens it, for
        the parts in `recorded_by_viewer` only (the viewer wrote them): a viewer the policy
        allows ``record_minutes`` on the case reads the text it recorded itself, also when it
        acts only as a regisseur. Recording minutes does not entitle reading anyone else's
        part. A "no" is not logged; an engine failure is a logged 503."""
        if read.action != "read_minutes" or read.case_id != case["id"]:
            raise ValueError("the permit is not read_minutes on this case")
        if not parts:
            return {}
        fields, decisions = self._decide_notes(session, viewer, case, parts)
        permits = {
            p.key: _mint(
                MinutesPartPermit,
                case_id=case["id"],
                part=p.key,
                level=decisions[p.key].level,
                fields=decisions[p.key].fields,
                reason=decisions[p.key].reason,
                rule=decisions[p.key].rule,
                policy_version=decisions[p.key].policy_version,
            )
            for p in parts
        }
        own = [p for p in parts if p.key in recorded_by_viewer and not permits[p.key].releases_text]
        if not own:
            return permits
        verdict = self._ask_action(session, viewer, "record_minutes", case, None)
        if not verdict.allowed:
            return permits
        for part in own:
            permits[part.key] = _mint(
                MinutesPartPermit,
                case_id=case["id"],
                part=part.key,
                level=DisclosureLevel.FULL,
                fields=tuple(
                    sorted(n for n, c in fields[part.sensitivity].items() if c != "never")
                ),
                reason=_RECORDER_REASON,
                rule="record_minutes",
                policy_version=verdict.policy_version,
            )
        return permits

    @staticmethod
    def _partner_kind(session: Session, partner_id: str) -> str:
        """A plan part's author's partner kind, as the policy reads a publisher's (the
        kinds that publish special or criminal data by default make their text so)."""
        partner = session.get(Partner, partner_id)
        return partner.kind if partner is not None else ""

    def explain_facts(
        self,
        session: Session,
        viewer: Viewer,
        case: CaseInput,
        facts: Sequence[FactRecord],
    ) -> dict[str, str]:
        """The policy's reason per fact for `viewer`, from metadata only: what a demo or a
        privacy officer reads to see why something is withheld. Nothing can be opened with
        a reason, so no permit is minted."""
        permits = self.release_facts(session, viewer, case, facts)
        return {fact_id: permit.reason for fact_id, permit in permits.items()}

    # -- failing closed -------------------------------------------------------------------------

    def _ask_action(
        self,
        session: Session,
        viewer: Viewer,
        action: str,
        case: CaseInput | None,
        target: Mapping[str, Any] | None,
    ) -> Verdict:
        policy_input = inputs.action_input(
            inputs.of_viewer(viewer), viewer.purpose.value, action, case, target
        )
        engine = self._serving.current
        try:
            verdict = engine.allow_action(policy_input)
        except PolicyError as exc:
            self._failed(session, viewer, engine, exc, case_id=case["id"] if case else None)
        policy_decision(action, "allowed" if verdict.allowed else "denied")
        return verdict

    def _failed(
        self,
        session: Session,
        viewer: Viewer,
        engine: PolicyEngine,
        exc: PolicyError,
        *,
        case_id: str | None,
    ) -> NoReturn:
        """Log a policy failure and deny the whole request (fail closed)."""
        log.error("policy_error", reason=exc.reason[:200])
        policy_decision("engine", "error")
        self._log.append(
            session,
            Event(
                action=Action.POLICY_ERROR,
                outcome=Outcome.ERROR,
                case_id=case_id,
                reason="policy engine failed; request denied",
                policy_version=_safe_version(engine),
            ),
            actor=viewer.actor,
            request=viewer.request,
        )
        raise PolicyUnavailable()


def _fact_permit(case_id: str, fact_id: str, decision: FactDecision) -> FactPermit:
    return _mint(
        FactPermit,
        case_id=case_id,
        fact_id=fact_id,
        level=decision.level,
        fields=decision.fields,
        reason=decision.reason,
        rule=decision.rule,
        policy_version=decision.policy_version,
    )


def _part_permit(case_id: str, key: str, decision: FactDecision) -> PlanPartPermit:
    return _mint(
        PlanPartPermit,
        case_id=case_id,
        part=key,
        level=decision.level,
        fields=decision.fields,
        reason=decision.reason,
        rule=decision.rule,
        policy_version=decision.policy_version,
    )


def _safe_version(engine: PolicyEngine) -> str | None:
    try:
        return engine.version
    except Exception:  # the version is best effort in an error entry
        return None


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
