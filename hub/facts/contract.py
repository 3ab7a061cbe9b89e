"""The fact types as part of the contract: each type's JSON Schema with its annotations, and
who may publish it at which table in which phases (issue 20).

The publishing rules come from the publishing data of the policy version the hub serves now
(``data.vhhub.publishing``, the same data the publish decision reads): from the stored bundle,
or from the policy directory while no version is registered; read once per version (a version
is the hash of its files, so its data never changes). Unreadable data fails closed (503).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from hub.db.session import Database
from hub.errors import NotFound, ServiceUnavailable
from hub.facts.catalog import FactType, FactTypeCatalog
from hub.facts.types_schemas import (
    FactTypeDetail,
    FactTypeList,
    FactTypeSummary,
    FieldAnnotation,
    PublishingRule,
)
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.logging import get_logger
from hub.policy_review.models import PolicyVersion
from hub.policy_review.versions import files_from_stored_bundle
from hub.vocabulary import PHASE_ORDER

log = get_logger("hub.facts.contract")

#: where the publishing matrix lives in a policy version (ADR 0103's bundle paths)
PUBLISHING_FILE: Final = "data/publishing.json"
_PHASE_RANK: Final = {phase.value: rank for rank, phase in enumerate(PHASE_ORDER)}
#: versions whose publishing data is kept (a hub serves one, briefly two around activation)
_KEPT_VERSIONS: Final = 8


class FactTypeContract:
    """What `GET /fact-types` answers: the catalog with the served version's publishing rules."""

    def __init__(
        self,
        db: Database,
        gate: Gate,
        registry: NetworkRegistry,
        catalog: FactTypeCatalog,
        policy_dir: Path,
    ) -> None:
        self._db = db
        self._gate = gate
        self._registry = registry
        self._catalog = catalog
        self._policy_dir = policy_dir
        self._by_version: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def summaries(self) -> FactTypeList:
        version, data = self._publishing()
        return FactTypeList(
            policy_version=version,
            fact_types=[
                FactTypeSummary(**_summary_fields(t, self._rules(t, data)))
                for t in self._catalog.types()
            ],
        )

    def detail(self, type_id: str) -> FactTypeDetail:
        fact_type = next((t for t in self._catalog.types() if t.id == type_id), None)
        if fact_type is None:
            raise NotFound("The hub's catalog has no such fact type.")
        policy_version, data = self._publishing()
        rules = self._rules(fact_type, data)
        schema = fact_type.schema
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = [
            FieldAnnotation(
                name=spec.name,
                title=properties.get(spec.name, {}).get("title"),
                life_domain=spec.life_domain.value,
                sensitivity=spec.sensitivity.value,
                disclosure=spec.disclosure.value,
                required=spec.name in required,
                reveals=spec.reveals,
                never_shared=spec.policy_never_shared,
            )
            for spec in fact_type.fields.values()
        ]
        return FactTypeDetail(
            **_summary_fields(fact_type, rules),
            policy_version=policy_version,
            headline_field=fact_type.headline_field,
            date_field=fact_type.date_field,
            sensitivity_stated=fact_type.sensitivity_stated,
            fields=fields,
            publishing=rules,
            schema=schema,
        )

    def _publishing(self) -> tuple[str, Mapping[str, Any]]:
        version = self._gate.version
        with self._lock:
            known = self._by_version.get(version)
        if known is not None:
            return version, known
        data = self._read_publishing(version)
        with self._lock:
            if len(self._by_version) >= _KEPT_VERSIONS:
                self._by_version.clear()
            self._by_version[version] = data
        return version, data

    def _read_publishing(self, version: str) -> Mapping[str, Any]:
        try:
            with self._db.snapshot() as session:
                bundle = session.get(PolicyVersion, version)
                data = bundle.bundle if bundle is not None else None
            if data is not None:
                files = files_from_stored_bundle(version, data)
                text = next((f.text for f in files if f.path == PUBLISHING_FILE), None)
            else:
                path = self._policy_dir / PUBLISHING_FILE
                text = path.read_text(encoding="utf-8") if path.is_file() else None
            parsed: object = json.loads(text) if text is not None else None
        except ServiceUnavailable:
            raise
        except Exception as exc:  # a broken bundle or file: say nothing rather than guess
            log.warning("publishing_data_unreadable", error_type=type(exc).__name__)
            raise ServiceUnavailable("The policy's publishing rules are unreadable.") from None
        if not isinstance(parsed, dict):
            log.warning("publishing_data_unreadable", error_type="missing_or_not_an_object")
            raise ServiceUnavailable("The policy's publishing rules are unreadable.")
        return parsed

    def _rules(self, fact_type: FactType, data: Mapping[str, Any]) -> list[PublishingRule]:
        partners_by_kind: dict[str, list[str]] = {}
        for partner in self._registry.partners.values():
            partners_by_kind.setdefault(partner.kind.value, []).append(partner.id)
        rules: list[PublishingRule] = []
        generic = data.get("any_partner_kind")
        if isinstance(generic, dict):
            phases = _phases(generic.get(fact_type.id))
            if phases:
                rules.append(
                    PublishingRule(table=None, partner_kind=None, partners=[], phases=phases)
                )
        tables = data.get("by_table")
        if isinstance(tables, dict):
            for table, kinds in sorted(tables.items()):
                if not isinstance(kinds, dict):
                    continue
                for kind, types in sorted(kinds.items()):
                    phases = _phases(types.get(fact_type.id) if isinstance(types, dict) else None)
                    if phases:
                        rules.append(
                            PublishingRule(
                                table=table,
                                partner_kind=kind,
                                partners=sorted(partners_by_kind.get(kind, [])),
                                phases=phases,
                            )
                        )
        return rules


def _phases(value: object) -> list[str]:
    """The phases a matrix cell grants (``{"intake": true, ...}``), in the case's order."""
    if not isinstance(value, dict):
        return []
    granted = [p for p, on in value.items() if on is True and p in _PHASE_RANK]
    return sorted(granted, key=_PHASE_RANK.__getitem__)


def _summary_fields(fact_type: FactType, rules: list[PublishingRule]) -> dict[str, Any]:
    schema = fact_type.schema
    description = schema.get("description")
    phases = {phase for rule in rules for phase in rule.phases}
    return {
        "id": fact_type.id,
        "name": fact_type.name,
        "version": fact_type.version,
        "title": fact_type.title,
        "description": description if isinstance(description, str) else None,
        "life_domain": fact_type.life_domain.value,
        "domain_field": fact_type.domain_field,
        "sensitivity": fact_type.sensitivity.value,
        "publisher_kinds": sorted({r.partner_kind for r in rules if r.partner_kind is not None}),
        "any_partner_kind": any(r.partner_kind is None for r in rules),
        "phases": sorted(phases, key=_PHASE_RANK.__getitem__),
        "schema_url": f"/api/v1/fact-types/{fact_type.id}",
    }
