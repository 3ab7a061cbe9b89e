"""The network registry: partners, their kinds and role grants, tables and their members.

Loaded from a TOML file shipped in the repository (network/demo.toml), validated strictly
(an unknown kind, role or table is an error, not a warning) and synchronised into the
database, so every replica reads one registry.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.identity.keysets import ALLOWED_ALGS
from hub.identity.models import NetworkTable, Partner, PartnerKindRole, TableMembership
from hub.vocabulary import PartnerKind, Role, TableId

KeySource = Literal["dev", "file", "url"]
SUPPORTED_ALGS = tuple(sorted(ALLOWED_ALGS))
#: the same alphabet a token's `iss` may use (hub.identity.tokens.ID_PATTERN)
_PARTNER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RegistryError(ValueError):
    """The network file is malformed; the message names the entry, never a key."""


@dataclass(frozen=True)
class KindSpec:
    kind: PartnerKind
    label: str
    key_partner: bool
    roles: frozenset[Role]


@dataclass(frozen=True)
class PartnerSpec:
    id: str
    name: str
    kind: PartnerKind
    key_source: KeySource
    jwks_location: str | None
    alg: str = "ES256"


@dataclass(frozen=True)
class TableSpec:
    id: TableId
    name: str
    members: frozenset[PartnerKind]


@dataclass(frozen=True)
class NetworkRegistry:
    name: str
    kinds: dict[PartnerKind, KindSpec]
    partners: dict[str, PartnerSpec]
    tables: dict[TableId, TableSpec]

    def allowed_roles(self, partner_id: str) -> frozenset[Role]:
        partner = self.partners.get(partner_id)
        if partner is None:
            return frozenset()
        return self.kinds[partner.kind].roles

    def is_key_partner(self, partner_id: str) -> bool:
        partner = self.partners.get(partner_id)
        return partner is not None and self.kinds[partner.kind].key_partner

    def dev_partners(self) -> list[PartnerSpec]:
        return [p for p in self.partners.values() if p.key_source == "dev"]


def load_registry(path: Path) -> NetworkRegistry:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"cannot read network file {path}: {type(exc).__name__}") from exc
    return parse_registry(raw)


def parse_registry(raw: dict[str, object]) -> NetworkRegistry:
    network = raw.get("network")
    name = network.get("name") if isinstance(network, dict) else None
    if not isinstance(name, str):
        raise RegistryError("[network] name is required")

    kinds: dict[PartnerKind, KindSpec] = {}
    raw_kinds = raw.get("kinds")
    if not isinstance(raw_kinds, dict):
        raise RegistryError("[kinds.*] sections are required")
    for kind_name, spec in raw_kinds.items():
        kind = _enum(PartnerKind, kind_name, "partner kind")
        if not isinstance(spec, dict):
            raise RegistryError(f"[kinds.{kind_name}] must be a table")
        roles = frozenset(_enum(Role, r, f"role of kind {kind_name}") for r in spec["roles"])
        kinds[kind] = KindSpec(kind, str(spec["label"]), bool(spec["key_partner"]), roles)

    partners: dict[str, PartnerSpec] = {}
    raw_partners = raw.get("partners")
    if not isinstance(raw_partners, list):
        raise RegistryError("[[partners]] entries are required")
    for entry in raw_partners:
        partner = _parse_partner(entry, kinds)
        if partner.id in partners:
            raise RegistryError(f"partner {partner.id} is listed twice")
        partners[partner.id] = partner

    tables: dict[TableId, TableSpec] = {}
    raw_tables = raw.get("tables")
    if not isinstance(raw_tables, dict):
        raise RegistryError("[tables.*] sections are required")
    for table_name, spec in raw_tables.items():
        table = _enum(TableId, table_name, "table")
        members = frozenset(
            _enum(PartnerKind, m, f"member of {table_name}") for m in spec["members"]
        )
        unknown = members - kinds.keys()
        if unknown:
            raise RegistryError(f"table {table_name} names kinds without a [kinds] section")
        tables[table] = TableSpec(table, str(spec["name"]), members)
    return NetworkRegistry(name=name, kinds=kinds, partners=partners, tables=tables)


def _parse_partner(entry: object, kinds: dict[PartnerKind, KindSpec]) -> PartnerSpec:
    if not isinstance(entry, dict):
        raise RegistryError("each [[partners]] entry must be a table")
    partner_id = entry.get("id")
    if not isinstance(partner_id, str) or not _PARTNER_ID.fullmatch(partner_id):
        raise RegistryError("partner id must be 1-64 ASCII letters, digits, dots, dashes")
    kind = _enum(PartnerKind, entry.get("kind"), f"kind of partner {partner_id}")
    if kind not in kinds:
        raise RegistryError(f"partner {partner_id} has kind {kind} without a [kinds] section")
    keys = entry.get("keys")
    source: KeySource
    location: str | None
    if keys == "dev":
        source, location = "dev", None
    elif isinstance(keys, str) and keys.startswith("file:"):
        source, location = "file", keys.removeprefix("file:")
    elif isinstance(keys, str) and keys.startswith("url:https://"):
        source, location = "url", keys.removeprefix("url:")
    else:
        raise RegistryError(f"partner {partner_id}: keys must be dev, file:PATH or url:https://...")
    alg = entry.get("alg", "ES256")
    if alg not in SUPPORTED_ALGS:
        raise RegistryError(f"partner {partner_id}: alg must be one of {SUPPORTED_ALGS}")
    return PartnerSpec(partner_id, str(entry.get("name", partner_id)), kind, source, location, alg)


E = TypeVar("E", PartnerKind, Role, TableId)


def _enum(enum: type[E], value: object, what: str) -> E:
    if not isinstance(value, str):
        raise RegistryError(f"unknown {what}")
    try:
        return enum(value)
    except ValueError:
        raise RegistryError(f"unknown {what}") from None


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def sync_registry(session: Session, registry: NetworkRegistry) -> SyncReport:
    """Make the database registry equal the file: add, update, keep (never delete partners,
    whose ids the access log refers to; a partner missing from the file is deactivated)."""
    report = SyncReport()
    existing = {p.id: p for p in session.scalars(select(Partner))}
    for spec in registry.partners.values():
        row = existing.pop(spec.id, None)
        values = {
            "name": spec.name,
            "kind": spec.kind.value,
            "key_partner": registry.kinds[spec.kind].key_partner,
            "key_source": spec.key_source,
            "jwks_location": spec.jwks_location,
            "active": True,
        }
        if row is None:
            session.add(Partner(id=spec.id, **values))
            report.added.append(f"partner {spec.id}")
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            report.updated.append(f"partner {spec.id}")
        else:
            report.kept.append(f"partner {spec.id}")
    for row in existing.values():
        if row.active:
            row.active = False
            report.updated.append(f"partner {row.id} (deactivated: not in the network file)")

    session.execute(delete(PartnerKindRole))
    for kind_spec in registry.kinds.values():
        for role in sorted(kind_spec.roles):
            session.add(PartnerKindRole(kind=kind_spec.kind.value, role=role.value))

    tables = {t.id: t for t in session.scalars(select(NetworkTable))}
    for table_spec in registry.tables.values():
        table_row = tables.get(table_spec.id.value)
        if table_row is None:
            session.add(NetworkTable(id=table_spec.id.value, name=table_spec.name))
            report.added.append(f"table {table_spec.id}")
        else:
            table_row.name = table_spec.name
            report.kept.append(f"table {table_spec.id}")
    session.flush()
    session.execute(delete(TableMembership))
    for table_spec in registry.tables.values():
        for kind in sorted(table_spec.members):
            session.add(TableMembership(table_id=table_spec.id.value, partner_kind=kind.value))
    session.flush()
    return report
