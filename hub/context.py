"""The composition root: the hub's wired components for one process, built once at start-up.

This module alone knows every service; each service receives exactly the collaborators it
uses in its constructor (a unit of work, the gate, the vault, the access log, the catalog...)
and none of them imports this module, so no service can reach a component it was not given
(tests/foundation/test_import_contracts.py keeps it so).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from hub.audit.grouped import GroupCommit
from hub.audit.log import AccessLog, LogSigner
from hub.audit.partner_log import PartnerLogService
from hub.audit.service import AuditService, ReportSettings
from hub.audit.signals import MisuseSignals, SignalSettings
from hub.cases.agenda import AgendaService
from hub.cases.caseload import CaseloadService
from hub.cases.coordination import CoordinationService
from hub.cases.intake import IntakeService
from hub.cases.notices import NoticeService
from hub.cases.participants import ParticipantService
from hub.cases.phases import PhaseService
from hub.cases.screening import ScreeningService
from hub.cases.statistics import StatisticsService
from hub.crypto.keys import EnvKeyProvider, FileKeyProvider, KeyProvider
from hub.crypto.notification_key import notification_signer
from hub.crypto.signing import SigningKey
from hub.db.session import Database
from hub.disclosure.briefing import BriefingService
from hub.disclosure.minutes import MinutesDisclosure
from hub.disclosure.vault import CaseVault
from hub.facts.catalog import FactTypeCatalog
from hub.facts.contract import FactTypeContract
from hub.facts.service import FactService
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry, load_registry
from hub.identity.service import Authenticator, build_key_resolver
from hub.identity.throttle import Throttle
from hub.logging import get_logger
from hub.meetings.service import MeetingService
from hub.notifications.deliverer import Deliverer, DeliverySettings
from hub.notifications.service import SubscriptionService
from hub.plans.service import PlanService
from hub.policy_review.service import PolicyReviewService
from hub.policy_review.simulation import SimulationService
from hub.policy_review.store import ActiveVersionProbe
from hub.policy_review.versions import ReviewedVersions, engine_for_stored_version
from hub.rego.engine import PolicyEngine
from hub.rego.factory import load_engine
from hub.rego.serving import ServingEngine
from hub.settings import Settings

_log = get_logger("hub.context")


@dataclass
class HubContext:
    settings: Settings
    db: Database
    registry: NetworkRegistry
    keys: KeyProvider
    log: AccessLog
    authenticator: Authenticator
    gate: Gate
    vault: CaseVault
    catalog: FactTypeCatalog
    intake: IntakeService = field(init=False)
    caseload: CaseloadService = field(init=False)
    screening: ScreeningService = field(init=False)
    participants: ParticipantService = field(init=False)
    phases: PhaseService = field(init=False)
    agenda: AgendaService = field(init=False)
    notices: NoticeService = field(init=False)
    coordination: CoordinationService = field(init=False)
    statistics: StatisticsService = field(init=False)
    facts: FactService = field(init=False)
    #: reads' access-log entries, grouped where they wrote nothing else (ADR 0020)
    reads: GroupCommit = field(init=False)
    briefing: BriefingService = field(init=False)
    audit: AuditService = field(init=False)
    plans: PlanService = field(init=False)
    policy_review: PolicyReviewService = field(init=False)
    simulation: SimulationService = field(init=False)
    meetings: MeetingService = field(init=False)
    minutes: MinutesDisclosure = field(init=False)
    signals: MisuseSignals = field(init=False)
    partner_log: PartnerLogService = field(init=False)
    fact_types: FactTypeContract = field(init=False)
    subscriptions: SubscriptionService = field(init=False)
    deliverer: Deliverer = field(init=False)
    _notification_key: SigningKey | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        uow, gate, log, registry = self.db.unit_of_work, self.gate, self.log, self.registry
        indexer = self.keys.blind_indexer()
        self.intake = IntakeService(uow, gate, log, registry, self.vault, indexer)
        self.caseload = CaseloadService(uow, gate, log, registry, self.vault)
        self.screening = ScreeningService(
            uow,
            gate,
            log,
            registry,
            indexer,
            retention_rejected_days=self.settings.retention_rejected_days,
        )
        self.participants = ParticipantService(uow, gate, log, registry)
        self.phases = PhaseService(
            uow, gate, log, registry, retention_closed_days=self.settings.retention_closed_days
        )
        self.agenda = AgendaService(uow, gate, log, registry)
        self.notices = NoticeService(uow, gate, log, registry)
        self.coordination = CoordinationService(uow, gate, log, registry)
        self.statistics = StatisticsService(uow, gate, log)
        self.facts = FactService(uow, gate, self.vault, log, self.catalog)
        self.fact_types = FactTypeContract(
            self.db, gate, registry, self.catalog, self.settings.policy_dir
        )
        self.reads = GroupCommit(self.db, log)
        self.briefing = BriefingService(uow, gate, self.vault, log, self.catalog, self.reads)
        self.audit = AuditService(
            self.db,
            gate,
            log,
            indexer,
            ReportSettings(
                catalog=self.catalog,
                partner_names={p.id: p.name for p in registry.partners.values()},
                retention_closed_days=self.settings.retention_closed_days,
                retention_rejected_days=self.settings.retention_rejected_days,
            ),
        )
        self.plans = PlanService(uow, gate, self.vault, log)
        reviewed = ReviewedVersions()
        self.policy_review = PolicyReviewService(uow, gate, log, self.catalog, registry, reviewed)
        self.simulation = SimulationService(uow, gate, log, self.catalog, registry, reviewed)
        self.meetings = MeetingService(uow, gate, self.vault, log, registry)
        self.minutes = MinutesDisclosure(uow, gate, self.vault, log)
        self.signals = MisuseSignals(self.db, gate, log, signal_settings(self.settings))
        self.partner_log = PartnerLogService(self.db, gate, log)
        self.subscriptions = SubscriptionService(uow, gate, log, registry)
        self.deliverer = Deliverer(
            self.db, gate, registry, self.notification_signer, delivery_settings(self.settings)
        )

    def notification_signer(self) -> SigningKey:
        """The notification signing key (ADR 0019), read or created once per process."""
        if self._notification_key is None:
            self._notification_key = notification_signer(self.settings.keys_dir)
        return self._notification_key

    def deliver_notifications(self) -> None:
        """One deliverer run (the hub's background task; `vhhub notifications deliver`)."""
        self.deliverer.run_once()

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A transaction that also commits when a logged refusal is raised (ADR 0003)."""
        return self.db.unit_of_work()

    @classmethod
    def open(cls, settings: Settings) -> HubContext:
        db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
        registry = load_registry(settings.network_file)
        keys = open_key_provider(settings)
        log = open_access_log(settings, keys)
        authenticator = Authenticator(
            db=db,
            log=log,
            registry=registry,
            keys=build_key_resolver(settings, registry),
            audience=settings.audience,
            throttle=Throttle.from_settings(settings),
        )
        catalog = FactTypeCatalog.load(settings.schema_dir)
        return cls(
            settings,
            db,
            registry,
            keys,
            log,
            authenticator,
            gate=Gate(open_serving_engine(settings), log, catalog),
            vault=CaseVault(keys),
            catalog=catalog,
        )

    def sign_stale_checkpoint(self) -> None:
        with self.db.transaction() as session:
            self.log.sign_if_stale(session)

    def sign_tail_on_close(self) -> None:
        """Cover this process's last entries before it stops (ADR 0401, "Coverage").

        A CLI command or a stopping hub may be the last writer for a long while; the
        verifier fails entries left without a checkpoint for longer than the interval, so an
        honest process signs them on its way out. Only a process that appended owes this: a
        verifying or reading process never writes to the log it inspects. A failure is
        logged, not raised: the next hub's periodic signer covers the entries instead."""
        if not self.log.appended:
            return
        try:
            with self.db.transaction() as session:
                self.log.sign_if_uncovered(session)
        except Exception as exc:  # the database may be what failed; never mask a shutdown
            _log.warning("checkpoint_on_close_failed", error_type=type(exc).__name__)

    def flush_refusals(self, *, final: bool = False) -> int:
        """Log the counted refusals of ended minutes (all of them when `final`), ADR 0404."""
        return self.authenticator.flush_refusals(final=final)

    def readiness_probes(self) -> dict[str, Callable[[], object]]:
        """Checks beyond the database; each raises when its component is not usable."""
        return {"keys": self._probe_keys, "policy": lambda: self.gate.version}

    def _probe_keys(self) -> None:
        self.keys.current_kek_version()
        self.keys.blind_indexer()
        self.keys.audit_signer()

    def close(self) -> None:
        self.sign_tail_on_close()
        self.gate.close()
        self.db.dispose()


def get_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    # before any work of this request: serve the policy version active in the database
    ctx.gate.follow_active()
    return ctx


def open_serving_engine(settings: Settings) -> ServingEngine:
    """The engine for the version active in the database (ADR 0103), the same on every
    replica; the policy directory while no version is registered."""

    def stored(version: str, bundle: bytes) -> PolicyEngine:
        return engine_for_stored_version(
            version,
            bundle,
            kind=settings.policy_engine,
            opa_url=settings.opa_url,
            timeout_s=settings.policy_timeout_s,
        )

    def policy_dir() -> PolicyEngine:
        return load_engine(
            settings.policy_engine,
            settings.policy_dir,
            opa_url=settings.opa_url,
            timeout_s=settings.policy_timeout_s,
        )

    return ServingEngine.open(
        ActiveVersionProbe(settings.effective_database_url), stored, policy_dir
    )


def open_access_log(settings: Settings, keys: KeyProvider) -> AccessLog:
    """The access log with this hub's checkpoint signer (also used by `vhhub init`)."""
    signer = LogSigner(key=keys.audit_signer(), origin=settings.log_origin)
    return AccessLog(
        signer,
        checkpoint_every=settings.checkpoint_every,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        key_ring=keys.audit_signers,
    )


def delivery_settings(settings: Settings) -> DeliverySettings:
    """How notifications are sent (`VHHUB_NOTIFICATION_*`, ADR 0019)."""
    return DeliverySettings(
        source=settings.notification_source,
        public_url=settings.effective_public_url,
        timeout_s=settings.notification_timeout_s,
        max_attempts=settings.notification_max_attempts,
        backoff_s=settings.notification_backoff_s,
        backoff_max_s=settings.notification_backoff_max_s,
        workers=settings.notification_workers,
        retention=timedelta(days=settings.notification_retention_days),
    )


def signal_settings(settings: Settings) -> SignalSettings:
    """The misuse signals' thresholds and office hours (`VHHUB_SIGNAL_*`)."""
    return SignalSettings(
        volume_factor=settings.signal_volume_factor,
        volume_minimum=settings.signal_volume_minimum,
        history_periods=settings.signal_history_periods,
        timezone=settings.signal_timezone,
        office_days=settings.signal_office_days,
        office_start_hour=settings.signal_office_start_hour,
        office_end_hour=settings.signal_office_end_hour,
        off_hours_minimum=settings.signal_off_hours_minimum,
        outside_tables_minimum=settings.signal_outside_tables_minimum,
        refusals_minimum=settings.signal_refusals_minimum,
    )


def open_key_provider(settings: Settings) -> KeyProvider:
    if settings.key_provider == "pkcs11":
        return _open_pkcs11_provider(settings)
    if settings.key_provider == "env":
        return EnvKeyProvider()
    return FileKeyProvider(settings.keys_dir)


def _open_pkcs11_provider(settings: Settings) -> KeyProvider:
    """The KEK in a PKCS#11 token; blind-index and signing keys from files or env (ADR 0304).

    Configuration errors stop the process here (names of settings, never the PIN); the
    token itself is first touched on use, so an absent token makes /ready answer 503."""
    from hub.crypto.errors import KeyStoreError
    from hub.crypto.key_pkcs11 import Pkcs11KeyProvider

    if settings.pkcs11_module is None:
        raise KeyStoreError("VHHUB_KEY_PROVIDER=pkcs11 needs VHHUB_PKCS11_MODULE")
    if settings.pkcs11_pin is not None:
        pin = settings.pkcs11_pin.get_secret_value()
    elif settings.pkcs11_pin_file is not None:
        try:
            pin = settings.pkcs11_pin_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise KeyStoreError("VHHUB_PKCS11_PIN_FILE cannot be read") from None
    else:
        raise KeyStoreError("VHHUB_KEY_PROVIDER=pkcs11 needs VHHUB_PKCS11_PIN or _PIN_FILE")
    others: KeyProvider = (
        EnvKeyProvider()
        if settings.pkcs11_other_keys == "env"
        else FileKeyProvider(settings.keys_dir)
    )
    return Pkcs11KeyProvider(
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        pin=pin,
        others=others,
        label_prefix=settings.pkcs11_label_prefix,
    )
