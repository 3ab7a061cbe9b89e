"""Subscriptions: a partner application asks to be told of changes (ADR 0019).

Use cases own their unit of work, as everywhere in the hub. The gate decides whether the
caller may manage subscriptions at all (the policy's ``manage_subscriptions``); a
subscription is then its creator's: only the user who created it lists and ends it, and a
listing shows only the named cases the caller may read now. Every act and every refusal is
logged in the access log; a refusal names no case: a case id the caller may not subscribe to
gets the same answer, and the same log entry, whether the case exists or not.
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
from hub.errors import NotFound, Refusal, ValidationFailed
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry, callback_url_error
from hub.identity.viewer import Viewer
from hub.ids import plausible_id
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


class CaseNotSubscribable(ValidationFailed, Refusal):
    """A named case the caller may not subscribe to, or no such case: one 400 for both,
    whose access-log entry commits (a refusal, ADR 0003)."""


#: the action of the policy's catalogue that decides every subscription act
POLICY_ACTION: Final = "manage_subscriptions"


class SubscriptionService:
    def __init__(
        self, unit_of_work: UnitOfWork, gate: Gate, access_log: AccessLog, registry: NetworkRegistry
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._log = access_log
        self._registry = registry

    def create(self, viewer: Viewer, body: SubscriptionIn) -> SubscriptionOut:
        with self._unit_of_work() as session:
            self._gate.authorize(
                session, viewer, POLICY_ACTION, logged_as=Action.SUBSCRIPTION_CREATE
            )
            kinds = self._kinds(body.types)
            self._check_callback(viewer, body.callback_url)
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
            return _out(sub, case_ids)

    def list_for(self, viewer: Viewer) -> SubscriptionList:
        """The caller's own live subscriptions, each showing only the named cases the caller
        may read now (``read_case``); logged with the subscriptions shown."""
        with self._unit_of_work() as session:
            permit = self._gate.authorize(
                session, viewer, POLICY_ACTION, logged_as=Action.SUBSCRIPTION_LIST
            )
            rows = list(
                session.scalars(
                    select(Subscription)
                    .where(
                        Subscription.partner_id == viewer.partner,
                        Subscription.created_by_user == viewer.user,
                        Subscription.ended_at.is_(None),
                    )
                    .order_by(Subscription.created_at, Subscription.id)
                )
            )
            readable: dict[str, bool] = {}
            shown = []
            for sub in rows:
                case_ids = None
                if sub.case_ids is not None:
                    case_ids = [
                        case_id
                        for case_id in json.loads(sub.case_ids)
                        if self._may_read(session, viewer, case_id, readable)
                    ]
                shown.append(_out(sub, case_ids))
            self._log.append(
                session,
                Event(
                    action=Action.SUBSCRIPTION_LIST,
                    outcome=Outcome.ALLOWED,
                    object_ids=[s.id for s in rows],
                    policy_version=permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return SubscriptionList(subscriptions=shown)

    def end(self, viewer: Viewer, subscription_id: str) -> None:
        """End a live subscription the caller created; any other id (someone else's, an
        ended one, an unknown or implausible one) is the same logged 404."""
        with self._unit_of_work() as session:
            permit = self._gate.authorize(
                session, viewer, POLICY_ACTION, logged_as=Action.SUBSCRIPTION_END
            )
            plausible = plausible_id(subscription_id)
            sub = session.get(Subscription, subscription_id) if plausible else None
            if (
                sub is None
                or sub.partner_id != viewer.partner
                or sub.created_by_user != viewer.user
                or sub.ended_at is not None
            ):
                self._log.append(
                    session,
                    Event(
                        action=Action.SUBSCRIPTION_END,
                        outcome=Outcome.DENIED,
                        object_ids=[subscription_id] if plausible else [],
                        reason="no live subscription of yours with this id",
                        policy_version=permit.policy_version,
                    ),
                    actor=viewer.actor,
                    request=viewer.request,
                )
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

    def _may_read(
        self, session: Session, viewer: Viewer, case_id: str, known: dict[str, bool]
    ) -> bool:
        """Whether the caller may read the case now (the policy's ``read_case``); a "no" is
        not logged here (a filter: the act's own entry says what was shown)."""
        if case_id not in known:
            case = CaseRepository(session).get(case_id)
            known[case_id] = (
                case is not None
                and case.status != CaseStatus.SHREDDED
                and self._gate.allows(
                    session, viewer, "read_case", self._gate.case_input(session, case)
                )
            )
        return known[case_id]

    def _check_cases(self, session: Session, viewer: Viewer, case_ids: list[str]) -> None:
        """Every named case must be one the caller's organisation takes part in now and the
        caller may read: one answer, and one log entry, for an unknown case and for one
        the caller may not read."""
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
                self._log.append(
                    session,
                    Event(
                        action=Action.SUBSCRIPTION_CREATE,
                        outcome=Outcome.DENIED,
                        object_ids=[case_id],
                        reason=f"case_ids/{index}: not a case your organisation takes part in",
                        policy_version=self._gate.version,
                    ),
                    actor=viewer.actor,
                    request=viewer.request,
                )
                raise CaseNotSubscribable(
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


def _out(sub: Subscription, case_ids: list[str] | None) -> SubscriptionOut:
    """The subscription as its creator sees it, `case_ids` as far as it may read them."""
    return SubscriptionOut(
        id=sub.id,
        callback_url=sub.callback_url,
        types=[EventKind(k).cloudevent_type for k in json.loads(sub.event_types)],
        case_ids=case_ids,
        created_at=sub.created_at,
        created_by_user=sub.created_by_user,
        last_sequence=sub.next_sequence,
    )
