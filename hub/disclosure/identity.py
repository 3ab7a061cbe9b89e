"""Who a case is about, through the one door: its subjects' identifying data and the reason
it was registered, as far as the policy's identity decision releases them to one viewer.

Nothing is decrypted before the gate has minted the `IdentityPermit`, and only the classes it
names leave the vault (`CaseVault.open_subject`, `open_reason`). The caller logs the read
with `disclosed_entry`, so the access log names exactly what left, per subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.cases.models import Case, Subject
from hub.cases.repository import CaseRepository
from hub.disclosure.vault import CaseVault
from hub.facts.subjects import pseudonyms_of_subjects
from hub.gate.gate import Gate
from hub.gate.inputs import CaseInput
from hub.gate.permits import IdentityPermit
from hub.identity.viewer import Viewer

#: the field name the access log records for a released registration reason
REASON_FIELD = "reason"


@dataclass(frozen=True, slots=True)
class SubjectView:
    subject: Subject
    #: the released identifying fields (name, date_of_birth, address, bsn) that are present
    released: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class IdentityView:
    permit: IdentityPermit
    subjects: Sequence[SubjectView]
    reason: str | None

    def disclosed(self, case_id: str) -> dict[str, tuple[str, ...]]:
        """For the log entry: subject id -> the fields released of it (an empty tuple: the
        subject's existence and role only), and the case id -> ("reason",) when the
        registration reason was released."""
        out: dict[str, tuple[str, ...]] = {
            view.subject.id: tuple(sorted(view.released)) for view in self.subjects
        }
        if self.reason is not None:
            out[case_id] = (REASON_FIELD,)
        return out


class IdentityReader:
    def __init__(self, gate: Gate, vault: CaseVault) -> None:
        self._gate = gate
        self._vault = vault

    def read(
        self, session: Session, viewer: Viewer, case: Case, policy_case: CaseInput
    ) -> IdentityView:
        permit = self._gate.release_identity(session, viewer, policy_case)
        subjects = CaseRepository(session).subjects(case.id)
        views = [SubjectView(s, self._vault.open_subject(session, s, permit)) for s in subjects]
        return IdentityView(permit, views, self._vault.open_reason(session, case, permit))


def subject_pseudonyms_by_id(
    session: Session, subject_ids: Sequence[str], case_id: str
) -> dict[str, tuple[str, ...]]:
    """subject id -> its pseudonyms, and the case id -> every subject's (for a released
    reason, which concerns the whole case): the log entry's `fact_subjects`."""
    names = pseudonyms_of_subjects(session, subject_ids)
    out = {k: tuple(v) for k, v in names.items()}
    out[case_id] = tuple(sorted({p for v in names.values() for p in v}))
    return out
