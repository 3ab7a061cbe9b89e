"""The hub's wired components for one process, built once at start-up.

Services receive the pieces they need from here explicitly; nothing else holds globals.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session

from hub.audit.log import AccessLog, LogSigner
from hub.audit.service import AuditService
from hub.cases.service import CaseService
from hub.crypto.keys import EnvKeyProvider, FileKeyProvider, KeyProvider
from hub.crypto.signing import SigningKey
from hub.db.session import Database
from hub.disclosure.gate import PolicyGate
from hub.disclosure.service import DisclosureService
from hub.disclosure.vault import CaseVault
from hub.errors import Refusal
from hub.facts.catalog import FactTypeCatalog
from hub.facts.service import FactService
from hub.identity.registry import NetworkRegistry, load_registry
from hub.identity.service import Authenticator, build_key_resolver
from hub.plans.service import PlanService
from hub.policy_review.service import PolicyReviewService, open_active_engine
from hub.settings import Settings


@dataclass
class HubContext:
    settings: Settings
    db: Database
    registry: NetworkRegistry
    keys: KeyProvider
    log: AccessLog
    authenticator: Authenticator
    gate: PolicyGate
    vault: CaseVault
    catalog: FactTypeCatalog
    cases: CaseService = field(init=False)
    facts: FactService = field(init=False)
    disclosure: DisclosureService = field(init=False)
    audit: AuditService = field(init=False)
    plans: PlanService = field(init=False)
    policy_review: PolicyReviewService = field(init=False)

    def __post_init__(self) -> None:
        self.cases = CaseService(self)
        self.facts = FactService(self, self.cases)
        self.disclosure = DisclosureService(self, self.cases)
        self.audit = AuditService(self)
        self.plans = PlanService(self, self.cases)
        self.policy_review = PolicyReviewService(self)

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A transaction that also commits when a logged refusal is raised (ADR 0003)."""
        return self.db.transaction(commit_on=(Refusal,))

    @classmethod
    def open(cls, settings: Settings) -> HubContext:
        db = Database(settings.effective_database_url)
        registry = load_registry(settings.network_file)
        keys = open_key_provider(settings)
        log = open_access_log(settings, keys)
        authenticator = Authenticator(
            db=db,
            log=log,
            registry=registry,
            keys=build_key_resolver(settings, registry),
            audience=settings.audience,
        )
        # the version active in the database (ADR 0103), the same on every replica
        engine = open_active_engine(settings, db)
        return cls(
            settings,
            db,
            registry,
            keys,
            log,
            authenticator,
            gate=PolicyGate(engine, log),
            vault=CaseVault(keys),
            catalog=FactTypeCatalog.load(settings.schema_dir),
        )

    def sign_stale_checkpoint(self) -> None:
        with self.db.transaction() as session:
            self.log.sign_if_stale(session)

    def readiness_probes(self) -> dict[str, Callable[[], object]]:
        """Checks beyond the database; each raises when its component is not usable."""
        return {"keys": self._probe_keys, "policy": lambda: self.gate.version}

    def _probe_keys(self) -> None:
        self.keys.current_kek_version()
        self.keys.blind_index_key()
        self.keys.audit_signing_key()

    def close(self) -> None:
        self.policy_review.close()
        self.db.dispose()


def get_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    # before any work of this request: serve the policy version active in the database
    ctx.policy_review.follow_active()
    return ctx


def open_access_log(settings: Settings, keys: KeyProvider) -> AccessLog:
    """The access log with this hub's checkpoint signer (also used by `vhhub init`)."""
    signer = LogSigner(
        key=SigningKey.from_seed(keys.audit_signing_key()),
        origin=settings.log_origin,
        key_name=settings.log_key_name,
    )
    return AccessLog(
        signer,
        checkpoint_every=settings.checkpoint_every,
        checkpoint_interval_s=settings.checkpoint_interval_s,
    )


def open_key_provider(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        return EnvKeyProvider()
    return FileKeyProvider(settings.keys_dir)
