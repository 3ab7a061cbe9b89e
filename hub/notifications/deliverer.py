"""The deliverer: from the outbox to each subscriber's callback, at least once (ADR 0019).

One run does four short steps, each its own transaction, and never holds one open across
an HTTP call:

1. fan out: each new outbox event becomes a delivery per matching subscription;
2. announce due interventions: a deadline reached writes its event (once, by a marker row);
3. claim: due deliveries get a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
   serialises writers), so two deliverers never send the same delivery in one attempt;
4. attempt each claimed delivery: ask again, through the gate, whether the subscriber's
   partner may be told (still a participant, not withdrawn; for facts, the policy still
   releases at least one of them to it), give it its sequence number on the first send,
   commit, then POST the signed CloudEvent, then record the outcome: delivered, or a retry
   after an exponential backoff with jitter, or after the last attempt a dead letter (a
   metric and a log line for the operator). A refused delivery is withheld, not sent.

Retention: once a delivery is finished (delivered, withheld or dead) it is kept for
`retention` (``VHHUB_NOTIFICATION_RETENTION_DAYS``), for the operator's `dead` listing and a
partner's request to send it again; then the deliverer's hourly sweep removes it, and an
outbox event once no delivery of it is left. A pending delivery and its event are never
swept, however old.

A hub killed between a change's commit and its delivery loses nothing: the outbox row is
durable, and the next run (of any replica) sends it. A deliverer killed mid-attempt leaves
a lease that expires, after which the delivery is attempted again with the same id, so a
partner may see one event twice (at least once) and drops the duplicate by its `id`.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

import httpx
from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.log import RequestInfo
from hub.cases.models import Case
from hub.cases.notices import dutch_today
from hub.cases.repository import CaseRepository
from hub.crypto.signing import SigningKey
from hub.db.session import Database
from hub.errors import Refusal
from hub.facts.models import Fact
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.metrics import notification_dead_letter, notification_delivery
from hub.notifications.models import Delivery, DueReminder, OutboxEvent, Subscription
from hub.notifications.outbox import EventKind, record
from hub.notifications.wire import Notification, signed_request
from hub.plans.models import InterventionIndex
from hub.plans.schemas import ENDED_STATUSES
from hub.vocabulary import CaseStatus, DisclosureLevel, Phase, Purpose, Role

log = get_logger("hub.notifications")

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
WITHHELD: Final = "withheld"

#: the purpose the subscriber would state to pull in each phase (the policy's matrix is
#: per phase and purpose); a closed case is read for execution's follow-up
PURPOSE_OF_PHASE: Final = {
    Phase.INTAKE: Purpose.INTAKE,
    Phase.SCREENING: Purpose.SCREENING,
    Phase.PREPARATION: Purpose.PREPARATION,
    Phase.CASE_CONFERENCE: Purpose.CASE_CONFERENCE,
    Phase.PLAN: Purpose.PLAN,
    Phase.EXECUTION: Purpose.EXECUTION,
    Phase.CLOSED: Purpose.EXECUTION,
}
_BATCH: Final = 200
#: how often one deliverer looks for interventions whose deadline has come
DUE_CHECK_S: Final = 60.0
#: how often one deliverer sweeps what retention no longer keeps (counted in days)
SWEEP_S: Final = 3600.0
#: rows one sweep statement removes: each batch is its own short transaction
_SWEEP_BATCH: Final = 1000
#: batches one sweep runs at most, so a first sweep of a large backlog does not hold up
#: the deliveries; the next sweep goes on where it stopped
_SWEEP_BATCHES: Final = 50
FINISHED: Final = (DELIVERED, WITHHELD, DEAD)


@dataclass(frozen=True)
class DeliverySettings:
    source: str
    public_url: str
    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 900.0
    workers: int = 4
    #: deliveries one run claims at most
    batch: int = 200
    #: how long a finished delivery, and then its event, is kept before the sweep
    retention: timedelta = timedelta(days=30)

    @property
    def lease(self) -> timedelta:
        """Longer than any attempt can take, so a live attempt's lease never runs out."""
        return timedelta(seconds=self.timeout_s * 3 + 30)


@dataclass
class RunStats:
    fanned_out: int = 0
    announced: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    #: finished deliveries and outbox events the sweep removed
    swept_deliveries: int = 0
    swept_events: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass(frozen=True)
class _Ready:
    """A delivery cleared to send: all its request needs, read in the deciding transaction."""

    delivery_id: str
    token: str
    url: str
    notification: Notification


class Deliverer:
    def __init__(
        self,
        db: Database,
        gate: Gate,
        registry: NetworkRegistry,
        signer: Callable[[], SigningKey],
        settings: DeliverySettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._gate = gate
        self._registry = registry
        self._signer = signer
        self._settings = settings
        self._now = clock
        #: deadlines change by the day and retention counts in days, not seconds
        self._due_check = _Every(DUE_CHECK_S)
        self._sweep = _Every(SWEEP_S)

    # -- one run ------------------------------------------------------------------------------

    def run_once(self, *, today: date | None = None) -> RunStats:
        stats = RunStats()
        # decide with the policy version active in the database, as a request would
        self._gate.follow_active()
        if today is not None or self._due_check():
            stats.announced = self.announce_due(today or dutch_today())
        if self._sweep():
            stats.swept_deliveries, stats.swept_events = self.sweep()
        stats.fanned_out = self.fan_out()
        claimed = self.claim(self._settings.batch)
        if not claimed:
            return stats
        # one subscription's deliveries in order, by one worker: its numbers follow the
        # changes, and one partner's slow endpoint holds up only its own notifications
        queues: dict[str, list[tuple[str, str]]] = {}
        for delivery_id, subscription_id, token in claimed:
            queues.setdefault(subscription_id, []).append((delivery_id, token))
        workers = min(self._settings.workers, len(queues))
        with httpx.Client(timeout=self._settings.timeout_s, follow_redirects=False) as client:

            def drain(queue: list[tuple[str, str]]) -> list[str]:
                return [self.attempt(d, t, client) for d, t in queue]

            if workers == 1:
                results: Iterable[list[str]] = [drain(q) for q in queues.values()]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    results = list(pool.map(drain, queues.values()))
        for outcomes in results:
            for outcome in outcomes:
                stats.count(outcome)
        return stats

    def run_until_idle(self, *, max_runs: int = 50) -> RunStats:
        """Run until nothing is due now (tests and `deliver --once`); retries that wait
        for their backoff are left for later runs."""
        total = RunStats()
        for _ in range(max_runs):
            stats = self.run_once()
            total.fanned_out += stats.fanned_out
            total.announced += stats.announced
            total.swept_deliveries += stats.swept_deliveries
            total.swept_events += stats.swept_events
            for outcome, n in stats.outcomes.items():
                total.outcomes[outcome] = total.outcomes.get(outcome, 0) + n
            if not stats.outcomes and not stats.fanned_out and not stats.announced:
                break
        return total

    # -- 1. fan out ---------------------------------------------------------------------------

    def fan_out(self) -> int:
        """Each new outbox event becomes one delivery per matching live subscription."""
        made = 0
        with self._db.transaction() as session:
            events = list(
                session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.fanned_out.is_(False))
                    .order_by(OutboxEvent.created_at, OutboxEvent.id)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not events:
                return 0
            subscriptions = list(
                session.scalars(select(Subscription).where(Subscription.ended_at.is_(None)))
            )
            now = self._now()
            for event in events:
                for sub in subscriptions:
                    if not _matches(sub, event):
                        continue
                    session.add(
                        Delivery(
                            id=str(uuid.uuid4()),
                            event_id=event.id,
                            subscription_id=sub.id,
                            status=PENDING,
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                    made += 1
                event.fanned_out = True
        return made

    # -- retention ----------------------------------------------------------------------------

    def sweep(self) -> tuple[int, int]:
        """Remove the deliveries finished more than `retention` ago, then the fanned-out
        events older than that of which no delivery is left; return how many of each.

        Only the ids of changes and partners go (the access log keeps who pulled what). A
        delivery queued again meanwhile (`redeliver`) is pending and stays: the conditions
        are on the deleting statement itself, so PostgreSQL checks them again on a row that
        changed while the statement waited for it."""
        cutoff = self._now() - self._settings.retention
        finished = (Delivery.status.in_(FINISHED), Delivery.finished_at < cutoff)
        old_event = (
            OutboxEvent.fanned_out.is_(True),
            OutboxEvent.created_at < cutoff,
            ~exists().where(Delivery.event_id == OutboxEvent.id),
        )
        deliveries = self._sweep_batches(Delivery, finished)
        events = self._sweep_batches(OutboxEvent, old_event)
        if deliveries or events:
            log.info("notification_sweep", deliveries=deliveries, events=events)
        return deliveries, events

    def _sweep_batches(
        self, model: type[Delivery] | type[OutboxEvent], where: tuple[ColumnElement[bool], ...]
    ) -> int:
        removed = 0
        for _ in range(_SWEEP_BATCHES):
            with self._db.transaction() as session:
                batch = select(model.id).where(*where).limit(_SWEEP_BATCH).scalar_subquery()
                result = session.execute(
                    delete(model)
                    .where(model.id.in_(batch), *where)
                    .execution_options(synchronize_session=False)
                )
            n = int(getattr(result, "rowcount", 0) or 0)
            removed += n
            if n < _SWEEP_BATCH:
                break
        return removed

    # -- 2. interventions due -----------------------------------------------------------------

    def announce_due(self, today: date) -> int:
        """Write the event of each open intervention whose deadline has come, once per
        deadline (a later deadline after a plan change is announced again)."""
        with self._db.transaction() as session:
            due = list(
                session.execute(
                    select(InterventionIndex, Case.status)
                    .join(Case, Case.id == InterventionIndex.case_id)
                    .outerjoin(
                        DueReminder,
                        (DueReminder.intervention_id == InterventionIndex.intervention_id)
                        & (DueReminder.case_id == InterventionIndex.case_id)
                        & (DueReminder.deadline == InterventionIndex.deadline),
                    )
                    .where(
                        InterventionIndex.deadline <= today,
                        InterventionIndex.status.not_in([s.value for s in ENDED_STATUSES]),
                        DueReminder.intervention_id.is_(None),
                    )
                    .limit(_BATCH)
                )
            )
            if not due:
                return 0
            announced = 0
            try:
                for intervention, status in due:
                    if status != CaseStatus.OPEN:
                        continue
                    session.add(
                        DueReminder(
                            intervention_id=intervention.intervention_id,
                            case_id=intervention.case_id,
                            deadline=intervention.deadline,
                        )
                    )
                    # the reminder and its event commit together: announced exactly once
                    record(
                        session,
                        EventKind.INTERVENTION_DUE,
                        intervention.case_id,
                        [intervention.intervention_id],
                        audience=intervention.owner_partner,
                    )
                    announced += 1
                session.flush()
            except IntegrityError:
                # another deliverer announced them first; its rows stand, ours roll back
                session.rollback()
                return 0
            return announced

    # -- 3. claim -----------------------------------------------------------------------------

    def claim(self, limit: int = _BATCH) -> list[tuple[str, str, str]]:
        """Lease due deliveries to this run: (delivery id, subscription id, lease token)."""
        now = self._now()
        token = str(uuid.uuid4())
        with self._db.transaction() as session:
            rows = list(
                session.scalars(
                    select(Delivery)
                    .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
                    .where(
                        Delivery.status == PENDING,
                        Delivery.next_attempt_at <= now,
                        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
                    )
                    # in the order the changes happened, so sequence numbers follow it
                    .order_by(Delivery.next_attempt_at, OutboxEvent.created_at, Delivery.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=Delivery)
                )
            )
            for row in rows:
                row.lease_until = now + self._settings.lease
                row.lease_token = token
            return [(row.id, row.subscription_id, token) for row in rows]

    # -- 4. attempt ---------------------------------------------------------------------------

    def attempt(self, delivery_id: str, token: str, client: httpx.Client) -> str:
        try:
            ready = self._decide(delivery_id, token)
        except Refusal:
            # the policy engine failed (logged by the gate as policy.error): fail closed,
            # send nothing, and try again later like any other failed attempt
            return self._finish(delivery_id, token, error="policy_error")
        if isinstance(ready, str):
            return ready
        request = signed_request(ready.url, ready.notification, self._signer())
        try:
            response = client.post(request.url, content=request.body, headers=request.headers)
        except httpx.TimeoutException:
            return self._finish(delivery_id, token, error="timeout")
        except httpx.HTTPError as exc:
            return self._finish(delivery_id, token, error=type(exc).__name__[:64])
        if 200 <= response.status_code < 300:
            return self._finish(delivery_id, token, error=None)
        return self._finish(delivery_id, token, error=f"http_{response.status_code}")

    def _decide(self, delivery_id: str, token: str) -> _Ready | str:
        """In one unit of work: may the subscriber be told now? If so, number the event."""
        with self._db.unit_of_work() as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.lease_token != token or delivery.status != PENDING:
                return "lost_lease"
            sub = session.get(Subscription, delivery.subscription_id)
            event = session.get(OutboxEvent, delivery.event_id)
            if sub is None or event is None or sub.ended_at is not None:
                return self._withhold(session, delivery, "subscription_ended")
            why_not = self._may_tell(session, sub, event)
            if why_not is not None:
                return self._withhold(session, delivery, why_not)
            if delivery.sequence is None:
                # numbered on its first send, in a row-locking UPDATE: two deliverers can
                # never give two events one number (and the unique index would refuse it)
                delivery.sequence = session.execute(
                    update(Subscription)
                    .where(Subscription.id == sub.id)
                    .values(next_sequence=Subscription.next_sequence + 1)
                    .returning(Subscription.next_sequence)
                ).scalar_one()
            kind = EventKind(event.kind)
            return _Ready(
                delivery_id=delivery.id,
                token=token,
                url=sub.callback_url,
                notification=Notification(
                    id=delivery.id,
                    type=kind.cloudevent_type,
                    source=self._settings.source,
                    subject=event.case_id,
                    sequence=delivery.sequence,
                    dataref=self._dataref(kind, event),
                    time=event.created_at,
                ),
            )

    def _may_tell(self, session: Session, sub: Subscription, event: OutboxEvent) -> str | None:
        """None when the subscriber's partner may be told of this event now, else why not.

        Asked at every attempt, so a partner withdrawn (or a policy changed) between the
        change and the delivery is told nothing. The gate is the one place that asks the
        policy; here it is asked as the subscriber, with the purpose of the case's phase."""
        partner = self._registry.partners.get(sub.partner_id)
        if partner is None or partner.notifications is None:
            return "partner_not_in_network"
        if not partner.notifications.allows(sub.callback_url):
            return "callback_not_allowed"
        case = CaseRepository(session).get(event.case_id)
        if case is None or case.status == CaseStatus.SHREDDED:
            return "case_gone"
        participants = CaseRepository(session).participants(case.id)
        if not any(p.partner_id == sub.partner_id and p.withdrawn_at is None for p in participants):
            return "not_a_participant"
        roles = frozenset(Role(r) for r in json.loads(sub.roles)) & self._registry.allowed_roles(
            sub.partner_id
        )
        purpose = PURPOSE_OF_PHASE[Phase(case.phase)]
        viewer = Viewer(
            partner=sub.partner_id,
            partner_kind=partner.kind,
            user=sub.created_by_user,
            roles=roles,
            purpose=purpose,
            request=RequestInfo(request_id=f"notification-{sub.id}", purpose=purpose),
        )
        policy_case = self._gate.case_input(session, case)
        if not self._gate.allows(session, viewer, "read_case", policy_case):
            return "policy_refuses_case"
        if event.kind == EventKind.FACTS_RELEASED:
            ids = json.loads(event.object_ids)
            facts = list(session.scalars(select(Fact).where(Fact.id.in_(ids))))
            permits = self._gate.release_facts(session, viewer, policy_case, facts)
            if not any(p.level is not DisclosureLevel.NONE for p in permits.values()):
                return "policy_releases_nothing"
        return None

    def _withhold(self, session: Session, delivery: Delivery, why: str) -> str:
        delivery.status = WITHHELD
        delivery.last_error = why
        delivery.lease_until = None
        delivery.lease_token = None
        delivery.finished_at = self._now()
        notification_delivery(WITHHELD)
        log.info("notification_withheld", delivery_id=delivery.id, reason=why)
        return WITHHELD

    def _finish(self, delivery_id: str, token: str, *, error: str | None) -> str:
        """Record an attempt's outcome; the lease ends. A delivery whose lease was taken
        over meanwhile (this attempt outlived it) is recorded only if it succeeded."""
        now = self._now()
        with self._db.transaction() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.status != PENDING:
                return "lost_lease"
            if delivery.lease_token != token and error is not None:
                return "lost_lease"
            delivery.lease_until = None
            delivery.lease_token = None
            if error is None:
                delivery.status = DELIVERED
                delivery.finished_at = now
                delivery.last_error = None
                notification_delivery(DELIVERED)
                return DELIVERED
            delivery.attempts += 1
            delivery.last_error = error
            if delivery.attempts >= self._settings.max_attempts:
                delivery.status = DEAD
                delivery.finished_at = now
                self._dead_letter(session, delivery)
                return DEAD
            delivery.next_attempt_at = now + self._backoff(delivery.attempts)
            notification_delivery("failed")
            return "failed"

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with full jitter in its upper half: retries of many
        deliveries to one recovering partner do not arrive as one wave."""
        ceiling = min(
            self._settings.backoff_max_s, self._settings.backoff_s * (2 ** (attempts - 1))
        )
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter

    def _dead_letter(self, session: Session, delivery: Delivery) -> None:
        """The operator's alert: a counter to alert on and a log line, ids only."""
        event = session.get(OutboxEvent, delivery.event_id)
        sub = session.get(Subscription, delivery.subscription_id)
        kind = event.kind if event is not None else "unknown"
        notification_delivery(DEAD)
        notification_dead_letter(kind.replace("-", "_"))
        log.error(
            "notification_dead_letter",
            delivery_id=delivery.id,
            subscription_id=delivery.subscription_id,
            partner=sub.partner_id if sub is not None else None,
            type=kind,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
        )

    def _dataref(self, kind: EventKind, event: OutboxEvent) -> str:
        """Where the partner pulls what changed (the API; the policy decides what it gets)."""
        base = f"{self._settings.public_url}/api/v1"
        case = f"{base}/cases/{event.case_id}"
        if kind is EventKind.FACTS_RELEASED:
            return f"{case}/updates"
        if kind is EventKind.MEETING:
            ids = json.loads(event.object_ids)
            return f"{base}/meetings/{ids[0]}" if ids else case
        if kind is EventKind.INTERVENTION_DUE:
            return f"{case}/plan"
        return case


class _Every:
    """True on the first call, then again once `seconds` have passed (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._last: float | None = None

    def __call__(self) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self._seconds:
            return False
        self._last = now
        return True


def _matches(sub: Subscription, event: OutboxEvent) -> bool:
    """Whether a subscription asked for this event (who may be told is decided later).
    A subscription hears of changes made after it was created, not of older ones."""
    if event.created_at < sub.created_at:
        return False
    if event.kind not in json.loads(sub.event_types):
        return False
    if event.audience is not None and event.audience != sub.partner_id:
        return False
    if event.actor_partner is not None and event.actor_partner == sub.partner_id:
        return False
    return sub.case_ids is None or event.case_id in json.loads(sub.case_ids)


# -- the operator's tools -------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    delivery_id: str
    subscription_id: str
    partner: str
    type: str
    attempts: int
    last_error: str | None
    finished_at: datetime | None


def dead_letters(db: Database) -> list[DeadLetter]:
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery, Subscription.partner_id, OutboxEvent.kind)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
            .where(Delivery.status == DEAD)
            .order_by(Delivery.finished_at, Delivery.id)
        )
        return [
            DeadLetter(
                d.id,
                d.subscription_id,
                partner,
                EventKind(kind).cloudevent_type,
                d.attempts,
                d.last_error,
                d.finished_at,
            )
            for d, partner, kind in rows
        ]


def redeliver(db: Database, *, delivery_id: str | None = None, all_dead: bool = False) -> int:
    """Queue deliveries again: one (dead, withheld or delivered: a partner that lost it) by
    its event id, or every dead letter. Same id and sequence, so the partner can drop a
    duplicate; the policy is asked again at the attempt."""
    if (delivery_id is None) == (not all_dead):
        raise ValueError("give either one event id or all_dead")
    now = datetime.now(UTC)
    with db.transaction() as session:
        query = update(Delivery).where(Delivery.status != PENDING)
        if delivery_id is not None:
            query = query.where(Delivery.id == delivery_id)
        else:
            query = query.where(Delivery.status == DEAD)
        result = session.execute(
            query.values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                lease_token=None,
                finished_at=None,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "DEAD",
    "DELIVERED",
    "FINISHED",
    "PENDING",
    "WITHHELD",
    "DeadLetter",
    "Deliverer",
    "DeliverySettings",
    "RunStats",
    "dead_letters",
    "redeliver",
]
