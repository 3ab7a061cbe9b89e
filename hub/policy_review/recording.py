"""How a loaded version is stored and how policy acts are logged (shared by the use cases)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, RequestInfo
from hub.db.base import utcnow
from hub.logging import get_logger
from hub.policy_review.models import INACTIVE, PolicyVersion
from hub.policy_review.store import (
    file_manifest,
    pack_files,
)
from hub.policy_review.versions import (
    Candidate,
)
from hub.vocabulary import Purpose

log = get_logger("hub.policy_review")
CLI_REQUEST: Final = RequestInfo(source="cli", purpose=Purpose.POLICY_REVIEW)
INIT_REQUEST: Final = RequestInfo(source="init", purpose=Purpose.POLICY_REVIEW)


@dataclass(frozen=True)
class StoredBundle:
    version: str
    bundle: bytes


def tests_text(candidate: Candidate) -> str:
    tests = candidate.tests
    return f"policy tests {tests.total - len(tests.failed)}/{tests.total} passed"


def new_version_row(candidate: Candidate, *, origin: str, loader: Actor) -> PolicyVersion:
    return PolicyVersion(
        version=candidate.version,
        files=file_manifest(candidate.files),
        bundle=pack_files(candidate.files),
        status=INACTIVE,
        tests_passed=candidate.tests.passed,
        test_summary=candidate.tests.summary(),
        origin=origin,
        loaded_by_partner=loader.partner,
        loaded_by_user=loader.user,
        loaded_at=utcnow(),
    )


def log_policy_act(
    access_log: AccessLog,
    session: Session,
    actor: Actor,
    request: RequestInfo,
    action: Action,
    *,
    reason: str,
    policy_version: str | None,
    outcome: Outcome = Outcome.ALLOWED,
    object_ids: Sequence[str] = (),
    case_id: str | None = None,
    pseudonyms: Sequence[str] = (),
) -> None:
    access_log.append(
        session,
        Event(
            action=action,
            outcome=outcome,
            case_id=case_id,
            object_ids=list(object_ids),
            subject_pseudonyms=list(pseudonyms),
            reason=reason if len(reason) <= 200 else reason[:197] + "...",
            policy_version=policy_version,
        ),
        actor=actor,
        request=request,
    )
