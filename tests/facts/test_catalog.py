"""The fact-type catalog: the agreed types are there, annotated as the policy expects, immutable.

The policy author already writes rules against these ids, domains and sensitivities, so a
change here is a change to what the policy means.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hub.errors import HubError
from hub.facts.catalog import (
    REVEALS,
    CatalogError,
    FactType,
    FactTypeCatalog,
    UnknownFactType,
    project_fields,
    validate_catalog,
)
from hub.vocabulary import DisclosureClass, DisclosureLevel, LifeDomain, PartnerKind, Sensitivity

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas"

#: id -> (primary life domain, sensitivity, partner kinds that may publish)
AGREED: dict[str, tuple[LifeDomain, Sensitivity, frozenset[PartnerKind]]] = {
    "police.incident/1": (LifeDomain.SAFETY, Sensitivity.CRIMINAL, frozenset({PartnerKind.POLICE})),
    "police.nuisance_report/1": (
        LifeDomain.SAFETY,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.POLICE}),
    ),
    "prosecution.case_status/1": (
        LifeDomain.JUSTICE,
        Sensitivity.CRIMINAL,
        frozenset({PartnerKind.PROSECUTION}),
    ),
    "probation.supervision/1": (
        LifeDomain.JUSTICE,
        Sensitivity.CRIMINAL,
        frozenset({PartnerKind.PROBATION}),
    ),
    "child_protection.investigation/1": (
        LifeDomain.PARENTING,
        Sensitivity.SPECIAL,
        frozenset({PartnerKind.CHILD_PROTECTION}),
    ),
    "municipality.income_debt/1": (
        LifeDomain.FINANCES,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.MUNICIPALITY}),
    ),
    "municipality.school_attendance/1": (
        LifeDomain.WORK_DAYTIME,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.MUNICIPALITY}),
    ),
    "housing.rent_arrears/1": (
        LifeDomain.FINANCES,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.HOUSING}),
    ),
    "housing.nuisance_complaint/1": (
        LifeDomain.HOUSING,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.HOUSING}),
    ),
    "housing.eviction/1": (
        LifeDomain.HOUSING,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.HOUSING}),
    ),
    "mental_health.involvement/1": (
        LifeDomain.MENTAL_HEALTH,
        Sensitivity.SPECIAL,
        frozenset({PartnerKind.MENTAL_HEALTH}),
    ),
    "youth_care.involvement/1": (
        LifeDomain.PARENTING,
        Sensitivity.SPECIAL,
        frozenset({PartnerKind.YOUTH_CARE}),
    ),
    "social_work.involvement/1": (
        LifeDomain.SOCIAL_NETWORK,
        Sensitivity.ORDINARY,
        frozenset({PartnerKind.SOCIAL_WORK}),
    ),
    "veilig_thuis.report/1": (
        LifeDomain.SAFETY,
        Sensitivity.SPECIAL,
        frozenset({PartnerKind.VEILIG_THUIS}),
    ),
    "custodial.detention/1": (
        LifeDomain.JUSTICE,
        Sensitivity.CRIMINAL,
        frozenset({PartnerKind.CUSTODIAL}),
    ),
    "network.involvement_signal/1": (
        LifeDomain.SOCIAL_NETWORK,
        Sensitivity.ORDINARY,
        frozenset(PartnerKind),
    ),
    # plan text as the policy decides it (ADR 0007); publishable by no one (publishing.json)
    "plan.note/1": (LifeDomain.SOCIAL_NETWORK, Sensitivity.ORDINARY, frozenset(PartnerKind)),
    "plan.note_special/1": (LifeDomain.SOCIAL_NETWORK, Sensitivity.SPECIAL, frozenset(PartnerKind)),
    "plan.note_criminal/1": (
        LifeDomain.SOCIAL_NETWORK,
        Sensitivity.CRIMINAL,
        frozenset(PartnerKind),
    ),
}


@pytest.fixture(scope="module")
def catalog() -> FactTypeCatalog:
    return FactTypeCatalog.load(SCHEMA_DIR)


def test_every_shipped_schema_passes_the_catalog_checks() -> None:
    validate_catalog(SCHEMA_DIR)  # raises CatalogError listing every problem otherwise


def test_catalog_holds_exactly_the_agreed_types(catalog: FactTypeCatalog) -> None:
    assert set(catalog.ids()) == set(AGREED)
    assert len(catalog) == 19
    assert [t.id for t in catalog.types()] == sorted(AGREED)


@pytest.mark.parametrize("type_id", sorted(AGREED))
def test_type_has_its_agreed_domain_sensitivity_and_publishers(
    catalog: FactTypeCatalog, type_id: str
) -> None:
    fact_type = catalog.get(type_id)
    domain, sensitivity, publishers = AGREED[type_id]
    assert fact_type.life_domain is domain
    assert fact_type.sensitivity is sensitivity
    assert fact_type.publisher_kinds == publishers


@pytest.mark.parametrize("type_id", sorted(AGREED))
def test_type_shows_a_date_and_a_headline_at_summary_and_has_more_at_full(
    catalog: FactTypeCatalog, type_id: str
) -> None:
    fact_type = catalog.get(type_id)
    summary = fact_type.fields_at(DisclosureLevel.SUMMARY)
    assert fact_type.headline_field in summary
    assert fact_type.date_field in summary
    assert fact_type.schema["properties"][fact_type.date_field]["format"] == "date"
    assert fact_type.fields_at(DisclosureLevel.FULL) > summary


@pytest.mark.parametrize("type_id", sorted(AGREED))
def test_never_fields_are_released_at_no_level(catalog: FactTypeCatalog, type_id: str) -> None:
    fact_type = catalog.get(type_id)
    never = {n for n, s in fact_type.fields.items() if s.disclosure is DisclosureClass.NEVER}
    # plan text is the plan's shared agreement: it keeps nothing back from those it reaches
    assert never or type_id.startswith("plan."), "every type keeps something with its publisher"
    for level in DisclosureLevel:
        assert not never & fact_type.fields_at(level)


def test_mental_health_diagnosis_is_never_disclosed(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("mental_health.involvement/1")
    assert fact_type.fields["diagnosis"].disclosure is DisclosureClass.NEVER
    assert fact_type.disclosure_classes()["diagnosis"] == "never"
    assert "diagnosis" not in fact_type.fields_at(DisclosureLevel.FULL)
    assert fact_type.fields["contact_person"].disclosure is DisclosureClass.FULL
    assert fact_type.fields["crisis_plan"].disclosure is DisclosureClass.FULL


def test_involvement_signal_speaks_the_life_domain_vocabulary(catalog: FactTypeCatalog) -> None:
    schema = catalog.get("network.involvement_signal/1").schema
    assert set(schema["properties"]["domain"]["enum"]) == {d.value for d in LifeDomain}


def test_no_type_has_a_field_for_a_subject_identifier(catalog: FactTypeCatalog) -> None:
    words = {"bsn", "name", "naam", "birth", "geboortedatum", "address", "adres"}
    for fact_type in catalog.types():
        for name in fact_type.fields:
            assert not words & set(name.split("_")), (fact_type.id, name)


def test_disclosure_classes_are_plain_strings_for_the_policy_input(
    catalog: FactTypeCatalog,
) -> None:
    classes = catalog.get("police.incident/1").disclosure_classes()
    assert classes["incident_date"] == "summary"
    assert classes["registration_reference"] == "never"
    assert json.loads(json.dumps(classes)) == classes
    assert all(type(v) is str for v in classes.values())


def test_unknown_type_is_a_lookup_error_with_a_problem_answer(catalog: FactTypeCatalog) -> None:
    with pytest.raises(UnknownFactType) as raised:
        catalog.get("police.incident/9")
    assert isinstance(raised.value, LookupError)
    assert isinstance(raised.value, HubError)
    assert raised.value.to_problem()["status"] == 400
    assert "police.incident/9" in raised.value.detail
    assert "police.incident/9" not in catalog


def test_unknown_type_does_not_repeat_what_does_not_look_like_a_type_id(
    catalog: FactTypeCatalog,
) -> None:
    with pytest.raises(UnknownFactType) as raised:
        catalog.get("Jan Jansen 123456782")
    assert "Jansen" not in str(raised.value.to_problem())
    assert raised.value.type_id is None


def test_version_is_part_of_the_id_and_never_guessed(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("housing.eviction/1")
    assert (fact_type.name, fact_type.version) == ("housing.eviction", 1)
    with pytest.raises(UnknownFactType):
        catalog.get("housing.eviction")


def test_fact_type_is_immutable(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("police.incident/1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fact_type.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fact_type.fields["diagnosis"] = fact_type.fields["incident_date"]  # type: ignore[index]
    copy = fact_type.schema
    copy["properties"]["victim_details"]["x-disclosure"] = "summary"
    assert fact_type.schema["properties"]["victim_details"]["x-disclosure"] == "never"
    assert fact_type.disclosure_classes()["victim_details"] == "never"


def test_schema_hash_ignores_formatting_but_not_meaning(tmp_path: Path) -> None:
    source = SCHEMA_DIR / "housing.eviction.1.json"
    schema = json.loads(source.read_text())
    original = FactTypeCatalog.load(_single(tmp_path / "a", schema)).get("housing.eviction/1")

    reformatted = tmp_path / "b"
    reformatted.mkdir()
    (reformatted / source.name).write_text(json.dumps(schema, indent=8, sort_keys=True))
    assert FactTypeCatalog.load(reformatted).get("housing.eviction/1") == original

    schema["properties"]["reason"]["x-disclosure"] = "summary"
    changed = FactTypeCatalog.load(_single(tmp_path / "c", schema)).get("housing.eviction/1")
    assert changed.schema_hash != original.schema_hash
    assert changed != original
    assert original.schema_hash.startswith("sha256:")


def test_project_fields_keeps_only_released_fields_as_copies() -> None:
    content = {"since": "2024-09-01", "contact_person": {"role": "casemanager"}, "diagnosis": "x"}
    projected = project_fields(content, ["since", "contact_person", "not_present"])
    assert projected == {"since": "2024-09-01", "contact_person": {"role": "casemanager"}}
    projected["contact_person"]["role"] = "changed"
    assert content["contact_person"] == {"role": "casemanager"}


def test_project_fields_releases_nothing_by_default() -> None:
    assert project_fields({"since": "2024-09-01"}, []) == {}
    assert project_fields({"since": "2024-09-01"}, frozenset()) == {}


def test_project_fields_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError):
        project_fields({"s": 1, "since": 2}, "since")


def test_catalog_ignores_the_examples_directory(catalog: FactTypeCatalog) -> None:
    assert (SCHEMA_DIR / "examples").is_dir()
    assert all(isinstance(t, FactType) for t in catalog)


def _single(directory: Path, schema: dict[str, object]) -> Path:
    directory.mkdir()
    type_id = str(schema["x-fact-type"])
    name, _, version = type_id.partition("/")
    (directory / f"{name}.{version}.json").write_text(json.dumps(schema))
    return directory


# --- fields that reveal a diagnosis, an offence category or a procedural role (ADR 0104) ------

#: Summary fields a partner without a care or justice task must not get (AVG art. 9, 10).
REVEALING: dict[str, dict[str, str]] = {
    "police.incident/1": {
        "incident_category": "offence_category",
        "subject_role": "procedural_role",
    },
    "veilig_thuis.report/1": {"report_type": "offence_category"},
    "prosecution.case_status/1": {"status": "procedural_role"},
    "probation.supervision/1": {"supervision_type": "procedural_role"},
    "custodial.detention/1": {"facility_type": "procedural_role"},
}


def test_the_summary_fields_that_reveal_an_offence_or_a_role_are_marked(
    catalog: FactTypeCatalog,
) -> None:
    marked = {t.id: t.revealing_fields() for t in catalog if t.revealing_fields()}
    assert marked == REVEALING
    for type_id, fields in REVEALING.items():
        fact_type = catalog.get(type_id)
        for name in fields:
            # still a summary field for partners with a care or justice task
            assert name in fact_type.fields_at(DisclosureLevel.SUMMARY)
            assert fact_type.fields[name].sensitivity in (Sensitivity.SPECIAL, Sensitivity.CRIMINAL)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "offence_category"),  # full-class: never in a summary anyway
        ("area", "procedural_role"),  # an ordinary field reveals no art. 9/10 data
        ("incident_date", "horoscope"),  # not one of REVEALS
        ("incident_date", True),
    ],
)
def test_x_reveals_is_refused_where_it_would_promise_nothing(
    tmp_path: Path, field: str, value: object
) -> None:
    schema = json.loads((SCHEMA_DIR / "police.incident.1.json").read_text())
    schema["properties"][field]["x-reveals"] = value
    if field == "area":
        schema["properties"][field]["x-disclosure"] = "summary"
    with pytest.raises(CatalogError) as raised:
        FactTypeCatalog.load(_single(tmp_path / "s", schema))
    assert any(
        f'/properties/{field}: "x-reveals" must be one of' in p for p in raised.value.problems
    )
    assert {"diagnosis", "offence_category", "procedural_role"} == REVEALS


def test_x_reveals_is_only_allowed_on_top_level_fields(tmp_path: Path) -> None:
    schema = json.loads((SCHEMA_DIR / "police.incident.1.json").read_text())
    schema["properties"]["police_contact"]["properties"]["role"]["x-reveals"] = "procedural_role"
    with pytest.raises(CatalogError) as raised:
        FactTypeCatalog.load(_single(tmp_path / "s", schema))
    assert any('keyword "x-reveals" is not allowed here' in p for p in raised.value.problems)


@pytest.mark.parametrize("value", [False, "true", 1, None])
def test_x_sensitivity_stated_is_true_or_absent(tmp_path: Path, value: object) -> None:
    """Only a type that says so plainly escapes its publisher's default category."""
    schema = json.loads((SCHEMA_DIR / "police.incident.1.json").read_text())
    schema["x-sensitivity-stated"] = value
    with pytest.raises(CatalogError) as raised:
        FactTypeCatalog.load(_single(tmp_path / "s", schema))
    assert any('"x-sensitivity-stated" is true or absent' in p for p in raised.value.problems)


def test_only_plan_notes_state_their_own_sensitivity(catalog: FactTypeCatalog) -> None:
    stated = {t.id for t in catalog if t.sensitivity_stated}
    assert stated == {"plan.note/1", "plan.note_special/1", "plan.note_criminal/1"}
