"""The policy gate: every case action and every disclosure asks the policy first.

Denials and engine failures are logged in the caller's unit of work, which commits them
before the refusal answers (`hub.errors.Refusal`). An engine error, timeout or malformed
answer denies (fail closed) and is logged as `policy.error`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.errors import Forbidden, NotFound, PolicyUnavailable
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.rego.decisions import FactDecision, Verdict
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError

log = get_logger("hub.policy")

#: The action log names of the policy's case actions.
ACTION_EVENTS: dict[str, Action] = {
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
    "record_plan": Action.PLAN_RECORD,
    "read_plan": Action.PLAN_READ,
    "read_log": Action.LOG_QUERY,
    "export_log": Action.LOG_EXPORT,
    "subject_access_report": Action.SUBJECT_ACCESS_REPORT,
    "read_policies": Action.POLICY_READ,
    "simulate_policy": Action.POLICY_SIMULATE,
    "load_policy": Action.POLICY_LOAD,
    "approve_policy": Action.POLICY_APPROVE,
}


class PolicyGate:
    """The policy engine of this process, swappable when another version becomes active.

    Every replica follows the version active in the database (hub.policy_review, ADR 0103).
    `engine` is read without a lock (an attribute read is atomic); `swap` installs a new
    engine under a lock, so two threads that notice an activation at once install one after
    the other. The old engine is returned, not closed: requests in flight may still use it.
    """

    def __init__(self, engine: PolicyEngine, access_log: AccessLog) -> None:
        self._engine = engine
        self._swap_lock = threading.Lock()
        self._log = access_log

    @property
    def engine(self) -> PolicyEngine:
        return self._engine

    def swap(self, engine: PolicyEngine) -> PolicyEngine:
        """Serve `engine` from now on; return the engine it replaces."""
        with self._swap_lock:
            previous, self._engine = self._engine, engine
        return previous

    @property
    def version(self) -> str:
        return self._engine.version

    def authorize(
        self,
        session: Session,
        viewer: Viewer,
        action: str,
        *,
        case: Mapping[str, Any] | None = None,
        target: Mapping[str, Any] | None = None,
        hide_case: bool = False,
    ) -> Verdict:
        """Return the allowing verdict, or log the denial and raise.

        `hide_case`: answer a denial with 404 instead of 403, so a viewer outside a case
        cannot tell whether the case exists.
        """
        case_id = str(case["id"]) if case is not None else None
        policy_input = {
            "viewer": viewer.policy_input(),
            "purpose": viewer.purpose.value,
            "action": action,
            "case": dict(case) if case is not None else None,
            "target": dict(target) if target is not None else None,
        }
        try:
            verdict = self.engine.allow_action(policy_input)
        except PolicyError as exc:
            self.policy_failed(session, viewer, exc, case_id=case_id)
        if verdict.allowed:
            return verdict
        self._log.append(
            session,
            Event(
                action=Action.CASE_DENIED if hide_case else ACTION_EVENTS[action],
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

    def allow_publish(self, policy_input: Mapping[str, Any]) -> Verdict:
        return self.engine.allow_publish(policy_input)

    def decide(
        self, session: Session, viewer: Viewer, policy_input: Mapping[str, Any], *, case_id: str
    ) -> dict[str, FactDecision]:
        try:
            return self.engine.decide_batch(policy_input)
        except PolicyError as exc:
            self.policy_failed(session, viewer, exc, case_id=case_id)

    def policy_failed(
        self, session: Session, viewer: Viewer, exc: PolicyError, *, case_id: str | None
    ) -> NoReturn:
        """Log a policy failure and deny the whole request (fail closed)."""
        log.error("policy_error", reason=exc.reason[:200])
        self._log.append(
            session,
            Event(
                action=Action.POLICY_ERROR,
                outcome=Outcome.ERROR,
                case_id=case_id,
                reason="policy engine failed; request denied",
                policy_version=_safe_version(self.engine),
            ),
            actor=viewer.actor,
            request=viewer.request,
        )
        raise PolicyUnavailable()


def _safe_version(engine: PolicyEngine) -> str | None:
    try:
        return engine.version
    except Exception:  # the version is best effort in an error entry
        return None


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
