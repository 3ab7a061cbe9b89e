"""Subscriptions: a partner application asks to be told of changes (ADR 0019).

Use cases own their unit of work, as everywhere in the hub. Acts are logged in the access
log; a refusal names no case: a case id the partner does not take part in gets the same
answer whether the case exists or not.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.errors import NotFound, ValidationFailed
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry, callback_url_error
from hub.identity.viewer import Viewer
from hub.notifications.models import Subscription
from hub.notifications.outbox import EventKind
from hub.notifications.schemas import (
    EVENT_TYPES,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
)
from hub.vocabulary import CaseStatus

#: live subscriptions one partner may hold (each is a callback the deliverer calls)
MAX_SUBSCRIPTIONS_PER_PARTNER: Final = 20
_KIND_OF_TYPE: Final = {kind.cloudevent_type: kind for kind in EventKind}


class CallbackNotAllowed(ValidationFailed):
    slug = "callback-not-allowed"
    title = "Callback not allowed"


class SubscriptionService:
    def __init__(
        self, unit_of_work: UnitOfWork, gate: Gate, access_log: AccessLog, registry: NetworkRegistry
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._log = access_log
        self._registry = registry

    def create(self, viewer: Viewer, body: SubscriptionIn) -> SubscriptionOut:
        kinds = self._kinds(body.types)
        self._check_callback(viewer, body.callback_url)
        with self._unit_of_work() as session:
            live = session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.partner_id == viewer.partner, Subscription.ended_at.is_(None))
            )
            if (live or 0) >= MAX_SUBSCRIPTIONS_PER_PARTNER:
                raise ValidationFailed(
                    f"Your organisation holds {MAX_SUBSCRIPTIONS_PER_PARTNER} subscriptions; "
                    "end one first."
                )
            case_ids = None
            if body.case_ids is not None:
                case_ids = sorted(set(body.case_ids))
                self._check_cases(session, viewer, case_ids)
            sub = Subscription(
                id=str(uuid.uuid4()),
                partner_id=viewer.partner,
                created_by_user=viewer.user,
                roles=json.dumps(sorted(r.value for r in viewer.roles)),
                callback_url=body.callback_url,
                event_types=json.dumps(sorted(k.value for k in kinds)),
                case_ids=None if case_ids is None else json.dumps(case_ids),
                next_sequence=0,
                created_at=datetime.now(UTC),
            )
            session.add(sub)
            session.flush()
            self._log_act(session, viewer, Action.SUBSCRIPTION_CREATE, sub)
            return _out(sub)

    def list_for(self, viewer: Viewer) -> SubscriptionList:
        with self._unit_of_work() as session:
            rows = session.scalars(
                select(Subscription)
                .where(Subscription.partner_id == viewer.partner, Subscription.ended_at.is_(None))
                .order_by(Subscription.created_at, Subscription.id)
            )
            return SubscriptionList(subscriptions=[_out(s) for s in rows])

    def end(self, viewer: Viewer, subscription_id: str) -> None:
        """End a subscription of the caller's organisation; another's is "not found"."""
        with self._unit_of_work() as session:
            sub = session.get(Subscription, subscription_id)
            if sub is None or sub.partner_id != viewer.partner or sub.ended_at is not None:
                raise NotFound()
            sub.ended_at = datetime.now(UTC)
            self._log_act(session, viewer, Action.SUBSCRIPTION_END, sub)

    # -- checks ---------------------------------------------------------------------------------

    @staticmethod
    def _kinds(types: list[str]) -> list[EventKind]:
        unknown = [t for t in types if t not in _KIND_OF_TYPE]
        if unknown:
            raise ValidationFailed(
                f"Unknown event type(s); known: {', '.join(EVENT_TYPES)}.",
                extra={"errors": [{"pointer": "body:/types", "problem": "unknown event type"}]},
            )
        return [_KIND_OF_TYPE[t] for t in dict.fromkeys(types)]

    def _check_callback(self, viewer: Viewer, url: str) -> None:
        partner = self._registry.partners.get(viewer.partner)
        if partner is None or partner.notifications is None:
            raise CallbackNotAllowed(
                "The network file allows your organisation no callback URL; ask the hub's "
                "operator to add one under [partners.notifications]."
            )
        problem = callback_url_error(url)
        if problem is not None:
            raise CallbackNotAllowed(f"callback_url must be {problem}.")
        if not partner.notifications.allows(url):
            raise CallbackNotAllowed(
                "callback_url is not in your organisation's callback allow-list."
            )

    def _check_cases(self, session: Session, viewer: Viewer, case_ids: list[str]) -> None:
        """Every named case must be one the caller's organisation takes part in now (and
        may read): one answer for an unknown case and for someone else's."""
        repository = CaseRepository(session)
        for index, case_id in enumerate(case_ids):
            case = repository.get(case_id)
            takes_part = (
                case is not None
                and case.status != CaseStatus.SHREDDED
                and any(
                    p.partner_id == viewer.partner and p.withdrawn_at is None
                    for p in repository.participants(case.id)
                )
            )
            if takes_part and case is not None:
                policy_case = self._gate.case_input(session, case)
                takes_part = self._gate.allows(session, viewer, "read_case", policy_case)
            if not takes_part:
                raise ValidationFailed(
                    f"case_ids/{index} is not a case your organisation takes part in.",
                    extra={
                        "errors": [
                            {
                                "pointer": f"body:/case_ids/{index}",
                                "problem": "not a case your organisation takes part in",
                            }
                        ]
                    },
                )

    def _log_act(self, session: Session, viewer: Viewer, action: Action, sub: Subscription) -> None:
        self._log.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED,
                object_ids=[sub.id],
                reason=" ".join(json.loads(sub.event_types))[:200],
                policy_version=self._gate.version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )


def _out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        callback_url=sub.callback_url,
        types=[EventKind(k).cloudevent_type for k in json.loads(sub.event_types)],
        case_ids=None if sub.case_ids is None else json.loads(sub.case_ids),
        created_at=sub.created_at,
        created_by_user=sub.created_by_user,
        last_sequence=sub.next_sequence,
    )
