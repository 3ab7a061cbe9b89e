"""`vhhub init`: everything the embedded default needs, created once and kept after.

Keys are never overwritten: a second run reports what it kept. Private key files are mode
0600 in a 0700 directory, and the data dir ignores itself for git.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hub.crypto.keys import ensure_dev_keys
from hub.db.migrate import current_revision, head_revision, upgrade_to_head
from hub.db.session import Database
from hub.identity.partner_keys import ensure_partner_dev_keys
from hub.identity.registry import NetworkRegistry, load_registry, sync_registry
from hub.settings import Settings


class NotInitialised(RuntimeError):
    """The data dir or database is missing; the message says what to run."""


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"created  {item}" for item in self.created]
        out += [f"updated  {item}" for item in self.updated]
        out += [f"kept     {item}" for item in self.kept]
        return out


def _ensure_private_dir(path: Path, report: InitReport) -> None:
    if path.is_dir():
        report.kept.append(f"directory {path}")
    else:
        path.mkdir(parents=True, mode=0o700)
        report.created.append(f"directory {path}")
    os.chmod(path, 0o700)


def initialise(settings: Settings) -> InitReport:
    report = InitReport()
    data_dir = settings.data_dir
    _ensure_private_dir(data_dir, report)
    ignore = data_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# vhhub data dir: database and private keys, never commit\n*\n")

    _ensure_private_dir(settings.keys_dir, report)
    key_report = ensure_dev_keys(settings.keys_dir)
    report.created += [f"key {name}" for name in key_report.created]
    report.kept += [f"key {name}" for name in key_report.kept]

    registry = load_registry(settings.network_file)
    _ensure_private_dir(settings.partner_keys_dir, report)
    for partner_id, created in ensure_partner_dev_keys(registry, settings.partner_keys_dir):
        (report.created if created else report.kept).append(f"signing key of partner {partner_id}")

    prepare_database(settings, report, registry=registry)
    return report


def prepare_database(
    settings: Settings, report: InitReport | None = None, *, registry: NetworkRegistry | None = None
) -> InitReport:
    """The database part of `vhhub init`, and all of `vhhub migrate` (production, ADR 0018):
    the schema at head, the network file's registry, the shipped policy when none is
    registered. Makes no key and no directory; the key provider must open (it signs the
    policy's log entry)."""
    report = report if report is not None else InitReport()
    registry = registry if registry is not None else load_registry(settings.network_file)
    db = Database(settings.effective_database_url)
    try:
        before = current_revision(db.engine)
        upgrade_to_head(settings.effective_database_url, engine=db.engine)
        if db.dialect == "sqlite":
            db_file = Path(db.engine.url.database or "")
            if db_file.is_file():
                os.chmod(db_file, 0o600)
        head = head_revision()
        if before == head:
            report.kept.append(f"database schema at {head}")
        else:
            report.updated.append(f"database schema {before or 'empty'} -> {head}")
        with db.transaction() as session:
            sync = sync_registry(session, registry)
        report.created += [f"registry {item}" for item in sync.added]
        report.updated += [f"registry {item}" for item in sync.updated]
        if sync.kept:
            report.kept.append(f"registry: {len(sync.kept)} partners and tables unchanged")
        _register_policy(settings, db, report)
    finally:
        db.dispose()
    return report


def _register_policy(settings: Settings, db: Database, report: InitReport) -> None:
    """The shipped policies/ become the active version when the database has none (ADR 0103);
    later versions go through `vhhub policy load` and two privacy officers' approval."""
    from hub.context import open_access_log, open_key_provider
    from hub.policy_review.shipped import register_shipped_policy

    log = open_access_log(settings, open_key_provider(settings))
    created, line = register_shipped_policy(settings, db, log)
    (report.created if created else report.kept).append(line)


def require_initialised(settings: Settings) -> None:
    if not settings.keys_dir.is_dir():
        raise NotInitialised("no data dir with keys here: run `vhhub init` first")
    db = Database(settings.effective_database_url)
    try:
        if current_revision(db.engine) != head_revision():
            raise NotInitialised("the database is not at the newest schema: run `vhhub init`")
    finally:
        db.dispose()
