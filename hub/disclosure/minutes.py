"""Reading the minutes of a case conference: the door for minutes text (ADR 0013).

The ``read_minutes`` permit on the item's case releases the minutes' structure (which parts
and decisions there are, their life domains and decision codes). Each part's text is then
released like a plan note (``Gate.release_minutes``): a plan-note fact of its life domain and
sensitivity, written by its recorder's partner. Life domain and sensitivity are clear
columns, so the policy decides before anything is decrypted, and the vault opens only the
parts whose permit releases their text. The read's log entry names, per part, whether its
text left the hub.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault
from hub.gate.gate import Gate, PlanPart
from hub.gate.permits import MinutesPartPermit
from hub.identity.viewer import Viewer
from hub.meetings.lookup import load_item
from hub.meetings.models import MeetingMinutes, MeetingRepository
from hub.meetings.schemas import DecisionCode, MinutesOut, MinutesPartOut
from hub.plans.parts import DOMAIN_NL
from hub.vocabulary import LifeDomain, Sensitivity

#: what a part's entry in the read's `disclosed` names when its text left the hub
TEXT = "text"


def placeholder(kind: str, domain: LifeDomain | None) -> str:
    """What a reader sees instead of a part whose text the policy did not release to it."""
    name = "verslag" if kind == "minutes" else "toelichting bij het besluit"
    if domain is None:
        return f"{name} niet gedeeld (geen leefgebied vastgelegd)"
    return f"{name} van leefgebied {DOMAIN_NL[domain]} niet gedeeld"


class MinutesDisclosure:
    def __init__(
        self, unit_of_work: UnitOfWork, gate: Gate, vault: CaseVault, access_log: AccessLog
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log

    def read(self, viewer: Viewer, meeting_id: str, item_id: str) -> MinutesOut:
        with self._unit_of_work() as session:
            meeting, item = load_item(session, self._log, viewer, meeting_id, item_id)
            opened = self._gate.open_case(session, viewer, item.case_id, "read_minutes")
            rows = MeetingRepository.minutes(session, item.id)
            parts = [
                PlanPart(
                    key=row.id,
                    life_domain=row.life_domain,
                    sensitivity=row.sensitivity,
                    author=row.recorded_by_partner,
                )
                for row in rows
                if row.text_ct is not None
            ]
            own = {
                row.id
                for row in rows
                if (row.recorded_by_partner, row.recorded_by_user) == (viewer.partner, viewer.user)
            }
            permits = self._gate.release_minutes(
                session, viewer, opened.policy, opened.permit, parts, recorded_by_viewer=own
            )
            out: list[MinutesPartOut] = []
            disclosed: dict[str, tuple[str, ...]] = {item.id: ("structure",)}
            for row in rows:
                permit = permits.get(row.id)
                out.append(self._part(session, row, permit))
                disclosed[row.id] = (TEXT,) if permit is not None and permit.releases_text else ()
            released = sum(1 for p in permits.values() if p.releases_text)
            self._log.append(
                session,
                Event(
                    action=Action.MINUTES_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=item.case_id,
                    object_ids=[meeting.id, item.id, *(row.id for row in rows)],
                    disclosed=disclosed,
                    subject_pseudonyms=CaseRepository(session).pseudonyms_of_case(item.case_id),
                    reason=f"minutes: text of {released} of {len(parts)} parts",
                    policy_version=opened.permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return MinutesOut(
                meeting_id=meeting.id, item_id=item.id, case_id=item.case_id, parts=out
            )

    def _part(
        self, session: Session, row: MeetingMinutes, permit: MinutesPartPermit | None
    ) -> MinutesPartOut:
        domain = LifeDomain(row.life_domain) if row.life_domain else None
        released = permit is not None and permit.releases_text
        if permit is None:  # a decision without text: only its code
            text, reason = None, "Decision recorded without text."
        elif released:
            text, reason = self._vault.open_minutes(session, row, permit), permit.reason
        else:
            text, reason = placeholder(row.kind, domain), permit.reason
        return MinutesPartOut(
            id=row.id,
            kind=row.kind,
            decision_code=DecisionCode(row.decision_code) if row.decision_code else None,
            life_domain=domain,
            released=released,
            sensitivity=Sensitivity(row.sensitivity) if released else None,
            text=text,
            reason=reason,
            recorded_by_partner=row.recorded_by_partner,
            recorded_at=row.recorded_at,
        )
