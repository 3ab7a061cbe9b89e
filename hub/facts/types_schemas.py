"""API models of the fact-type endpoints: the contract a partner publishes against.

A fact type is served as its JSON Schema (draft 2020-12, with the ``x-`` annotations the policy
decides on) together with the annotations in plain fields: life domain, sensitivity, the
disclosure class of each field, and who may publish it in which phases under the policy
version the hub serves now (``data.vhhub.publishing``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FactTypeDetail",
    "FactTypeList",
    "FactTypeSummary",
    "FieldAnnotation",
    "PublishingRule",
]

_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "police.incident/1",
    "name": "police.incident",
    "version": 1,
    "title": "Politie: incident of strafbaar feit",
    "description": "Een bij de politie geregistreerd incident of strafbaar feit waarbij de "
    "betrokkene verdachte, slachtoffer of getuige is.",
    "life_domain": "safety",
    "domain_field": None,
    "sensitivity": "criminal",
    "publisher_kinds": ["police"],
    "any_partner_kind": False,
    "phases": ["intake", "preparation", "case_conference", "plan", "execution"],
    "schema_url": "/api/v1/fact-types/police.incident/1",
}

_FIELD_EXAMPLE: dict[str, Any] = {
    "name": "incident_category",
    "title": "Soort incident",
    "life_domain": "safety",
    "sensitivity": "criminal",
    "disclosure": "summary",
    "required": True,
    "reveals": "offence_category",
    "never_shared": False,
}

_RULE_EXAMPLE: dict[str, Any] = {
    "table": "youth",
    "partner_kind": "police",
    "partners": ["politie"],
    "phases": ["intake", "preparation", "case_conference", "plan", "execution"],
}


class FieldAnnotation(BaseModel):
    """How one top-level field of the type travels (its ``x-`` annotations)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FIELD_EXAMPLE]})

    name: str = Field(description="The field's name in the fact's content.")
    title: str | None = Field(description="The field's title in the schema (Dutch).")
    life_domain: str = Field(description="The life domain the field is about (x-life-domain).")
    sensitivity: str = Field(
        description="ordinary, special (AVG art. 9) or criminal (AVG art. 10): x-sensitivity."
    )
    disclosure: str = Field(
        description="The lowest level at which the field may be shown: summary, full or never "
        "(never: stays with the publisher, no policy releases it); x-disclosure."
    )
    required: bool = Field(description="Whether every fact of the type must have the field.")
    reveals: str | None = Field(
        description="What the field makes known (diagnosis, offence_category, procedural_role): "
        "left out of summaries for partners without a care or justice task (x-reveals)."
    )
    never_shared: bool = Field(
        description="Listed as never shared in the policy data (x-policy-never-shared)."
    )


class PublishingRule(BaseModel):
    """One row of the policy's publishing matrix for this type."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RULE_EXAMPLE]})

    table: str | None = Field(
        description="The table (youth, adults, domestic_violence, multi_problem); null: every "
        "table (a type any partner kind may publish)."
    )
    partner_kind: str | None = Field(
        description="The partner kind that may publish; null: any partner kind of the network."
    )
    partners: list[str] = Field(
        description="The registered partners of that kind (ids of the network registry); "
        "empty for any partner kind."
    )
    phases: list[str] = Field(description="The case phases in which it may publish the type.")


class FactTypeSummary(BaseModel):
    """A fact type in the list: its annotations at the type level and where its schema is."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: str = Field(description="The fact type as a publish names it: `<name>/<version>`.")
    name: str = Field(description="The type without its version, `<namespace>.<name>`.")
    version: int = Field(description="The type's version (a new version is a new type).")
    title: str = Field(description="The schema's title (Dutch).")
    description: str | None = Field(description="The schema's description (Dutch).")
    life_domain: str = Field(
        description="The type's life domain (x-life-domain); for a type whose facts name their "
        "own domain (see domain_field), the fallback."
    )
    domain_field: str | None = Field(
        description="The field in which each fact names its own life domain, if any."
    )
    sensitivity: str = Field(
        description="The highest sensitivity of the type's fields (x-sensitivity)."
    )
    publisher_kinds: list[str] = Field(
        description="The partner kinds the policy served now lets publish the type (at some "
        "table, in some phase)."
    )
    any_partner_kind: bool = Field(
        description="Whether every partner kind of the network may publish it."
    )
    phases: list[str] = Field(description="The phases in which anyone may publish the type.")
    schema_url: str = Field(description="Where the type's JSON Schema and annotations are.")


class FactTypeList(BaseModel):
    """Every fact type the hub accepts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy_version": "3f1c9a0e5b7d" + "0" * 52,
                    "fact_types": [_SUMMARY_EXAMPLE],
                }
            ]
        }
    )

    policy_version: str = Field(
        description="The policy version whose publishing rules the answer shows."
    )
    fact_types: list[FactTypeSummary] = Field(description="Ordered by id.")


class FactTypeDetail(FactTypeSummary):
    """One fact type: its JSON Schema, each field's annotations and who may publish it."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    **_SUMMARY_EXAMPLE,
                    "policy_version": "3f1c9a0e5b7d" + "0" * 52,
                    "headline_field": "incident_category",
                    "date_field": "incident_date",
                    "sensitivity_stated": False,
                    "fields": [_FIELD_EXAMPLE],
                    "publishing": [_RULE_EXAMPLE],
                    "schema": {
                        "$schema": "https://json-schema.org/draft/2020-12/schema",
                        "$id": "https://schemas.vhhub.nl/facts/police.incident/1",
                        "x-fact-type": "police.incident/1",
                        "type": "object",
                        "properties": {"incident_category": {"type": "string"}},
                    },
                }
            ]
        },
    )

    policy_version: str = Field(
        description="The policy version whose publishing rules the answer shows."
    )
    headline_field: str = Field(description="The field a summary shows as its headline.")
    date_field: str = Field(description="The summary-class date shown next to the headline.")
    sensitivity_stated: bool = Field(
        description="Whether each fact states its own sensitivity (plan notes)."
    )
    fields: list[FieldAnnotation] = Field(description="Every top-level field, in schema order.")
    publishing: list[PublishingRule] = Field(
        description="Who may publish the type, at which table, in which phases."
    )
    # `schema` shadows a BaseModel attribute: the alias keeps the wire name
    json_schema: dict[str, Any] = Field(
        alias="schema",
        serialization_alias="schema",
        description="The type's JSON Schema (draft 2020-12) with its x- annotations: the "
        "content of a publish of this type must match it.",
    )
