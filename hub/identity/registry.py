"""The network registry: partners, their kinds and role grants, tables and their members,
and who must approve a change of the policy (the approval quorum).

Loaded from a TOML file shipped in the repository (network/demo.toml), validated strictly
(an unknown kind, role or table is an error, not a warning) and synchronised into the
database, so every replica reads one registry.

Why the quorum lives here and not in a token or the policy: a partner's kind, and so whether
it is a key partner, is what the network agreed on in this file; a token only names the
partner that signed it (ADR 0103). A policy version cannot lower the bar for its own approval.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.identity.keysets import ALLOWED_ALGS
from hub.identity.models import NetworkTable, Partner, PartnerKindRole, TableMembership
from hub.vocabulary import PartnerKind, Role, TableId

KeySource = Literal["dev", "file", "url"]
SUPPORTED_ALGS = tuple(sorted(ALLOWED_ALGS))
#: the same alphabet a token's `iss` may use (hub.identity.tokens.ID_PATTERN)
_PARTNER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Four eyes: a quorum below two partners is no quorum.
MIN_APPROVALS: Final = 2
MAX_APPROVALS: Final = 20


class RegistryError(ValueError):
    """The network file is malformed; the message names the entry, never a key."""


@dataclass(frozen=True)
class KindSpec:
    kind: PartnerKind
    label: str
    key_partner: bool
    roles: frozenset[Role]


@dataclass(frozen=True)
class OidcSpec:
    """A partner's OpenID Connect identity provider, for people logging in to the web
    application (ADR 0015): the `[partners.oidc]` sub-table of the network file.

    The client secret never sits in the file: `client_secret_env` names the environment
    variable that holds it, read when a login is finished.
    """

    issuer: str
    client_id: str
    client_secret_env: str
    scopes: tuple[str, ...] = ("openid", "profile")
    user_claim: str = "sub"
    name_claim: str = "name"
    roles_claim: str = "roles"
    #: the IdP's role value -> the vhhub role it grants, in file order
    role_map: tuple[tuple[str, Role], ...] = ()

    def role_for(self, value: str) -> Role | None:
        """The vhhub role an IdP role value maps to, if any."""
        for idp_value, role in self.role_map:
            if idp_value == value:
                return role
        return None


@dataclass(frozen=True)
class NotificationSpec:
    """Where the hub may send a partner's notifications (ADR 0019): the `[partners.notifications]`
    sub-table's `callbacks`, each an https URL (http only on a loopback host, for tests). A
    subscription's callback must equal one, or lie under one that ends in "/". The network
    agrees on this list, not the partner's token: a stolen token cannot point the hub's
    signed requests at an address of its choosing."""

    callbacks: tuple[str, ...] = ()

    def allows(self, url: str) -> bool:
        return any(
            url == allowed or (allowed.endswith("/") and url.startswith(allowed))
            for allowed in self.callbacks
        )


@dataclass(frozen=True)
class PartnerSpec:
    id: str
    name: str
    kind: PartnerKind
    key_source: KeySource
    jwks_location: str | None
    alg: str = "ES256"
    oidc: OidcSpec | None = None
    #: its tokens must be bound to its organisation certificate (mutual TLS, RFC 8705)
    certificate_bound: bool = False
    #: the callback allow-list of its notifications; None: it cannot subscribe
    notifications: NotificationSpec | None = None


@dataclass(frozen=True)
class TableSpec:
    id: TableId
    name: str
    members: frozenset[PartnerKind]


@dataclass(frozen=True)
class ApprovalQuorum:
    """Who activates a policy version or a change of the protected test suite (ADR 0103).

    `approvals` distinct partners must approve, none of them the partner that loaded the
    change; with `key_partners_only` only key partners (sleutelpartners, by their kind in
    this file) count. Officers of one partner count as that one partner.
    """

    approvals: int = MIN_APPROVALS
    key_partners_only: bool = True

    def describe(self) -> str:
        who = "key partners" if self.key_partners_only else "partners"
        return f"{self.approvals} different {who}, not the loader's"


@dataclass(frozen=True)
class NetworkRegistry:
    name: str
    kinds: dict[PartnerKind, KindSpec]
    partners: dict[str, PartnerSpec]
    tables: dict[TableId, TableSpec]
    policy_approval: ApprovalQuorum = field(default_factory=ApprovalQuorum)

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

    def demo_partners(self) -> list[PartnerSpec]:
        """The partners whose people the passwordless demo login may log in (ADR 0015): dev
        keys and no identity provider. A partner with `[partners.oidc]` logs its people in
        through its IdP only, whatever its keys."""
        return [p for p in self.dev_partners() if p.oidc is None]

    def may_demo_login(self, partner_id: str) -> bool:
        return any(p.id == partner_id for p in self.demo_partners())

    def oidc_partners(self) -> list[PartnerSpec]:
        """The partners whose people log in with their own identity provider."""
        return [p for p in self.partners.values() if p.oidc is not None]

    def may_approve_policy(self, partner_id: str) -> bool:
        """Whether an approval by this partner can count towards the quorum at all (the
        loader's partner is excluded per change, by the caller)."""
        if partner_id not in self.partners:
            return False
        return self.is_key_partner(partner_id) or not self.policy_approval.key_partners_only


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
    _check_oidc_clients(partners)

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
    registry = NetworkRegistry(
        name=name,
        kinds=kinds,
        partners=partners,
        tables=tables,
        policy_approval=_parse_quorum(raw.get("policy_approval")),
    )
    eligible = [p for p in partners if registry.may_approve_policy(p)]
    if len(eligible) < registry.policy_approval.approvals:
        raise RegistryError(
            f"[policy_approval] needs {registry.policy_approval.approvals} approving partners, "
            f"but only {len(eligible)} partners may approve: no policy change could be activated"
        )
    return registry


def _parse_quorum(raw: object) -> ApprovalQuorum:
    """The optional [policy_approval] table; absent means two key partners."""
    if raw is None:
        return ApprovalQuorum()
    if not isinstance(raw, dict):
        raise RegistryError("[policy_approval] must be a table")
    unknown = set(raw) - {"approvals", "key_partners_only"}
    if unknown:
        raise RegistryError("[policy_approval] knows only approvals and key_partners_only")
    approvals = raw.get("approvals", MIN_APPROVALS)
    if (
        not isinstance(approvals, int)
        or isinstance(approvals, bool)
        or not MIN_APPROVALS <= approvals <= MAX_APPROVALS
    ):
        raise RegistryError(
            f"[policy_approval] approvals must be a whole number from {MIN_APPROVALS} to "
            f"{MAX_APPROVALS} (four eyes: at least two partners)"
        )
    key_only = raw.get("key_partners_only", True)
    if not isinstance(key_only, bool):
        raise RegistryError("[policy_approval] key_partners_only must be true or false")
    return ApprovalQuorum(approvals=approvals, key_partners_only=key_only)


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
    oidc = _parse_oidc(partner_id, entry.get("oidc"), kinds[kind])
    bound = entry.get("certificate_bound", False)
    if not isinstance(bound, bool):
        raise RegistryError(f"partner {partner_id}: certificate_bound must be true or false")
    notifications = _parse_notifications(partner_id, entry.get("notifications"))
    return PartnerSpec(
        partner_id,
        str(entry.get("name", partner_id)),
        kind,
        source,
        location,
        alg,
        oidc,
        bound,
        notifications,
    )


#: a callback URL is at most this long (the subscription's column holds 2048)
MAX_CALLBACK_CHARS: Final = 2048


def _parse_notifications(partner_id: str, raw: object) -> NotificationSpec | None:
    """The optional [partners.notifications] sub-table: `callbacks`, a list of URLs."""
    if raw is None:
        return None
    where = f"partner {partner_id} [partners.notifications]"
    if not isinstance(raw, dict):
        raise RegistryError(f"{where} must be a table")
    unknown = set(raw) - {"callbacks"}
    if unknown:
        raise RegistryError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: callbacks"
        )
    callbacks = raw.get("callbacks")
    if not isinstance(callbacks, list) or not callbacks:
        raise RegistryError(f"{where}: callbacks must be a non-empty list of URLs")
    for url in callbacks:
        if not isinstance(url, str) or callback_url_error(url) is not None:
            raise RegistryError(
                f"{where}: each callback must be an https URL without user info, query or "
                "fragment (http only for a loopback host)"
            )
    return NotificationSpec(callbacks=tuple(dict.fromkeys(callbacks)))


def callback_url_error(url: str) -> str | None:
    """Why `url` cannot be a callback (None when it can): absolute, https (http only for a
    loopback host), no user info, query or fragment, printable ASCII, not too long."""
    if len(url) > MAX_CALLBACK_CHARS or not url.isascii() or not url.isprintable() or " " in url:
        return "not a plain ASCII URL of at most 2048 characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "not a URL"
    if not host or parts.query or parts.fragment or "@" in parts.netloc:
        return "an absolute URL without user info, query or fragment"
    # a prefix entry allows what lies under it: "/hook/../admin" (or its percent-encoded
    # form) starts with "/hook/" but an HTTP client resolves it elsewhere on the host
    if "\\" in parts.path or any(
        unquote(segment) in (".", "..") for segment in parts.path.split("/")
    ):
        return "a URL without . or .. path segments"
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return None
    return "https (http only for a loopback host)"


_OIDC_KEYS: Final = frozenset(
    {
        "issuer",
        "client_id",
        "client_secret_env",
        "scopes",
        "user_claim",
        "name_claim",
        "roles_claim",
        "role_map",
    }
)
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")  # RFC 6749 scope-token
_LOOPBACK_HOSTS: Final = frozenset({"localhost"})


def _parse_oidc(partner_id: str, raw: object, kind: KindSpec) -> OidcSpec | None:
    """The optional [partners.oidc] sub-table. Messages name the partner and the key, never
    a value that could be a secret (the file holds none, but a pasted one must not leak)."""
    if raw is None:
        return None
    where = f"partner {partner_id} [partners.oidc]"
    if not isinstance(raw, dict):
        raise RegistryError(f"{where} must be a table")
    unknown = set(raw) - _OIDC_KEYS
    if "client_secret" in unknown:
        raise RegistryError(
            f"{where}: the client secret never sits in the network file; name the environment "
            "variable that holds it in client_secret_env"
        )
    if unknown:
        raise RegistryError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_OIDC_KEYS))}"
        )
    issuer = _oidc_str(raw, "issuer", where, None)
    _check_issuer(issuer, where)
    client_id = _oidc_str(raw, "client_id", where, None)
    secret_env = _oidc_str(raw, "client_secret_env", where, None)
    if not _ENV_NAME.fullmatch(secret_env):
        raise RegistryError(
            f"{where}: client_secret_env must be the NAME of an environment variable "
            "(capitals, digits, underscores), not the secret itself"
        )
    scopes_raw = raw.get("scopes", ["openid", "profile"])
    if not isinstance(scopes_raw, list) or not all(
        isinstance(s, str) and _SCOPE.fullmatch(s) for s in scopes_raw
    ):
        raise RegistryError(f"{where}: scopes must be a list of scope names")
    scopes = tuple(dict.fromkeys(scopes_raw))
    if "openid" not in scopes:
        raise RegistryError(f"{where}: scopes must include openid")
    user_claim = _oidc_str(raw, "user_claim", where, "sub")
    name_claim = _oidc_str(raw, "name_claim", where, "name")
    roles_claim = _oidc_str(raw, "roles_claim", where, "roles")
    role_map_raw = raw.get("role_map")
    if not isinstance(role_map_raw, dict) or not role_map_raw:
        raise RegistryError(
            f"{where}: role_map is required: a table from the IdP's role values to vhhub roles"
        )
    role_map: list[tuple[str, Role]] = []
    for idp_value, role_name in role_map_raw.items():
        if not idp_value.strip():
            raise RegistryError(f"{where}: role_map has an empty IdP role value")
        role = _enum(Role, role_name, f"role in {where} role_map")
        if role not in kind.roles:
            raise RegistryError(
                f"{where}: role_map grants {role} which partner kind {kind.kind} may not hold "
                f"(allowed: {', '.join(sorted(kind.roles))})"
            )
        role_map.append((idp_value, role))
    return OidcSpec(
        issuer=issuer,
        client_id=client_id,
        client_secret_env=secret_env,
        scopes=scopes,
        user_claim=user_claim,
        name_claim=name_claim,
        roles_claim=roles_claim,
        role_map=tuple(role_map),
    )


def _oidc_str(raw: dict[str, object], key: str, where: str, default: str | None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > 512:
        raise RegistryError(f"{where}: {key} must be a non-empty string")
    return value


def _check_issuer(issuer: str, where: str) -> None:
    """https, or http only for a loopback host (tests and local development)."""
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise RegistryError(f"{where}: issuer is not a URL") from None
    if not host or parts.query or parts.fragment or "@" in parts.netloc:
        raise RegistryError(
            f"{where}: issuer must be an absolute URL without user info, query or fragment"
        )
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise RegistryError(f"{where}: issuer must be https (http only for a loopback host)")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_oidc_clients(partners: dict[str, PartnerSpec]) -> None:
    """One client registration, one partner: were two partners to share an issuer AND a
    client id, an ID token issued for one would be valid for the other, and a person of the
    one could log in as the other by choosing it. One issuer for several partners is fine
    when each has its own client id (the token's `aud` tells them apart)."""
    seen: dict[tuple[str, str], str] = {}
    for partner in partners.values():
        if partner.oidc is None:
            continue
        key = (partner.oidc.issuer.rstrip("/"), partner.oidc.client_id)
        other = seen.setdefault(key, partner.id)
        if other != partner.id:
            raise RegistryError(
                f"partners {other} and {partner.id} share one OIDC issuer and client_id: "
                "give each partner its own client registration"
            )


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
