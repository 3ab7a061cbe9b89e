"""The catalog refuses a malformed schema, and with it the whole catalog (fail closed).

Each case starts from a shipped schema and breaks one promise the policy relies on.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.facts.catalog import CatalogError, FactTypeCatalog, validate_catalog

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
BASE_FILE = "police.incident.1.json"
Schema = dict[str, Any]


def base() -> Schema:
    return json.loads((SCHEMA_DIR / BASE_FILE).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def write(directory: Path, schema: Schema, file_name: str = BASE_FILE) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / file_name).write_text(json.dumps(schema), encoding="utf-8")
    return directory


def refused(directory: Path) -> tuple[str, ...]:
    with pytest.raises(CatalogError) as raised:
        FactTypeCatalog.load(directory)
    with pytest.raises(CatalogError):
        validate_catalog(directory)
    return raised.value.problems


def strip_annotations(s: Schema) -> None:
    for key in [k for k in s if k.startswith("x-")]:
        del s[key]
    for prop in s["properties"].values():
        for key in [k for k in prop if k.startswith("x-")]:
            del prop[key]


def props(s: Schema) -> dict[str, Any]:
    return s["properties"]  # type: ignore[no-any-return]


Mutation = Callable[[Schema], object]

MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "no annotations at all": (strip_annotations, '"x-disclosure" missing'),
    "field without x-disclosure": (
        lambda s: props(s)["area"].pop("x-disclosure"),
        '/properties/area: "x-disclosure" missing',
    ),
    "field without x-sensitivity": (
        lambda s: props(s)["area"].pop("x-sensitivity"),
        '/properties/area: "x-sensitivity" missing',
    ),
    "field without x-life-domain": (
        lambda s: props(s)["area"].pop("x-life-domain"),
        '/properties/area: "x-life-domain" missing',
    ),
    "illegal disclosure class": (
        lambda s: props(s)["area"].update({"x-disclosure": "public"}),
        '"x-disclosure" missing or not one of',
    ),
    "illegal life domain": (
        lambda s: s.update({"x-life-domain": "crime"}),
        '"x-life-domain" must be a LifeDomain',
    ),
    "illegal sensitivity": (
        lambda s: props(s)["area"].update({"x-sensitivity": "secret"}),
        '"x-sensitivity" missing or not a Sensitivity',
    ),
    "sensitivity below its fields": (
        lambda s: s.update({"x-sensitivity": "special"}),
        "must be the highest of its fields (criminal)",
    ),
    "unknown publisher kind": (
        lambda s: s.update({"x-publisher-kinds": ["police", "neighbours"]}),
        '"x-publisher-kinds"',
    ),
    "no publisher kinds": (lambda s: s.update({"x-publisher-kinds": []}), '"x-publisher-kinds"'),
    "headline names no field": (
        lambda s: s.update({"x-headline": "nothing"}),
        '"x-headline" must name a property',
    ),
    "headline is full-class": (
        lambda s: s.update({"x-headline": "status"}),
        "must be summary-class",
    ),
    "headline not required": (
        lambda s: s["required"].remove("incident_category"),
        '"x-headline" field incident_category must be required',
    ),
    "date field is no date": (
        lambda s: s.update({"x-date": "subject_role"}),
        "must have format date",
    ),
    "no headline annotation": (lambda s: s.pop("x-headline"), '"x-headline" must name'),
    "no full-class field": (
        lambda s: [p.update({"x-disclosure": "summary"}) for p in props(s).values()],
        "at least one field must be full-class",
    ),
    "misspelt annotation": (
        lambda s: props(s)["area"].update({"x-disclsure": "never"}),
        'keyword "x-disclsure" is not allowed',
    ),
    "unknown top-level annotation": (
        lambda s: s.update({"x-shareable": True}),
        'unknown annotation "x-shareable"',
    ),
    "annotation on a nested field": (
        lambda s: props(s)["police_contact"]["properties"]["phone"].update(
            {"x-disclosure": "never"}
        ),
        'keyword "x-disclosure" is not allowed',
    ),
    "string without maxLength": (
        lambda s: props(s)["area"].pop("maxLength"),
        "/properties/area: a string needs a maxLength",
    ),
    "nested string without maxLength": (
        lambda s: props(s)["police_contact"]["properties"]["role"].pop("maxLength"),
        "/properties/police_contact/properties/role: a string needs a maxLength",
    ),
    "number without bounds": (
        lambda s: props(s).update(
            {
                "count": {
                    "x-life-domain": "safety",
                    "x-sensitivity": "ordinary",
                    "x-disclosure": "full",
                    "type": "integer",
                }
            }
        ),
        "a number needs a minimum",
    ),
    "array without maxItems": (
        lambda s: props(s).update(
            {
                "tags": {
                    "x-life-domain": "safety",
                    "x-sensitivity": "ordinary",
                    "x-disclosure": "full",
                    "type": "array",
                    "items": {"type": "string", "maxLength": 5},
                }
            }
        ),
        "an array needs maxItems",
    ),
    "open top-level object": (
        lambda s: s.update({"additionalProperties": True}),
        '"additionalProperties": false',
    ),
    "open nested object": (
        lambda s: props(s)["police_contact"].pop("additionalProperties"),
        '/properties/police_contact: an object needs "additionalProperties": false',
    ),
    "reference to elsewhere": (
        lambda s: props(s).update(
            {
                "other": {
                    "x-life-domain": "safety",
                    "x-sensitivity": "ordinary",
                    "x-disclosure": "full",
                    "$ref": "https://example.org/other.json",
                }
            }
        ),
        'keyword "$ref" is not allowed',
    ),
    "pattern properties": (
        lambda s: s.update({"patternProperties": {"^x_": {"type": "string", "maxLength": 3}}}),
        'keyword "patternProperties" is not allowed',
    ),
    "unenforced format": (
        lambda s: props(s)["area"].update({"format": "date-time"}),
        'format "date-time" is not enforced',
    ),
    "format on a non-string": (
        lambda s: props(s)["weapon_involved"].update({"format": "date"}),
        'format "date" is not enforced',
    ),
    "broken pattern": (
        lambda s: props(s)["area"].update({"pattern": "([a-z"}),
        "/properties/area/pattern: not valid JSON Schema",
    ),
    "field for a BSN": (
        lambda s: props(s).update({"bsn": copy.deepcopy(props(s)["area"])}),
        "/properties/bsn: looks like a subject identifier",
    ),
    "field for a name": (
        lambda s: props(s).update({"suspect_name": copy.deepcopy(props(s)["area"])}),
        "looks like a subject identifier",
    ),
    "field for a birth date": (
        lambda s: props(s).update({"birth_date": copy.deepcopy(props(s)["incident_date"])}),
        "looks like a subject identifier",
    ),
    "field name not snake_case": (
        lambda s: props(s).update({"Area": props(s).pop("area")}),
        "property names must be snake_case",
    ),
    "enum value not snake_case": (
        lambda s: props(s)["subject_role"].update({"enum": ["Suspect", "victim"]}),
        "enum values must be snake_case",
    ),
    "required field that does not exist": (
        lambda s: s["required"].append("ghost"),
        "required ghost is not a property",
    ),
    "wrong $id": (
        lambda s: s.update({"$id": "https://example.org/police.incident/1"}),
        '"$id" must be',
    ),
    "wrong dialect": (
        lambda s: s.update({"$schema": "http://json-schema.org/draft-07/schema#"}),
        '"$schema" must be',
    ),
    "file name and type disagree": (
        lambda s: s.update(
            {
                "x-fact-type": "police.incident/2",
                "$id": "https://schemas.vhhub.nl/facts/police.incident/2",
            }
        ),
        "file must be named police.incident.2.json",
    ),
    "malformed type id": (lambda s: s.update({"x-fact-type": "Police Incident"}), '"x-fact-type"'),
    "not valid JSON Schema": (
        lambda s: props(s)["area"].update({"maxLength": -1}),
        "not valid JSON Schema",
    ),
    "type list": (
        lambda s: props(s)["area"].update({"type": ["string", "null"]}),
        '"type" must be one of',
    ),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_catalog_refuses_a_malformed_schema(tmp_path: Path, case: str) -> None:
    mutate, expected = MUTATIONS[case]
    schema = base()
    mutate(schema)
    problems = refused(write(tmp_path / "schemas", schema))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(BASE_FILE) for p in problems)


def test_the_unbroken_base_is_accepted(tmp_path: Path) -> None:
    catalog = FactTypeCatalog.load(write(tmp_path / "schemas", base()))
    assert catalog.ids() == ("police.incident/1",)


def test_catalog_refuses_a_schema_without_annotations(tmp_path: Path) -> None:
    schema = base()
    strip_annotations(schema)
    problems = refused(write(tmp_path / "schemas", schema))
    for keyword in ('"x-life-domain"', '"x-sensitivity"', '"x-publisher-kinds"'):
        assert any(p.startswith(f"{BASE_FILE}: {keyword}") for p in problems), keyword


def test_one_bad_schema_refuses_the_whole_catalog_and_every_problem_is_listed(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "schemas"
    for good in ("housing.eviction.1.json", "veilig_thuis.report.1.json"):
        write(directory, json.loads((SCHEMA_DIR / good).read_text()), good)
    broken = base()
    props(broken)["area"].pop("maxLength")
    props(broken)["description"].pop("x-disclosure")
    write(directory, broken)
    problems = refused(directory)
    assert any("area: a string needs a maxLength" in p for p in problems)
    assert any("description" in p and "x-disclosure" in p for p in problems)


def test_duplicate_keys_are_refused_not_silently_overridden(tmp_path: Path) -> None:
    text = json.dumps(base(), indent=2).replace(
        '"x-disclosure": "never"', '"x-disclosure": "never", "x-disclosure": "summary"', 1
    )
    directory = tmp_path / "schemas"
    directory.mkdir()
    (directory / BASE_FILE).write_text(text)
    assert any("duplicate key" in p for p in refused(directory))


@pytest.mark.parametrize("text", ["{not json", '{"a": NaN}', "[]", '"schema"'])
def test_unreadable_or_non_object_files_are_refused(tmp_path: Path, text: str) -> None:
    directory = tmp_path / "schemas"
    directory.mkdir()
    (directory / BASE_FILE).write_text(text)
    assert refused(directory)


def test_an_empty_or_missing_directory_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path)
    assert refused(tmp_path / "missing")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_damage_to_a_schema_is_refused_or_accepted_never_a_crash(data: st.DataObject) -> None:
    """The checker meets hand-written files: whatever is in them, it answers with CatalogError."""
    schema = base()
    target: Any = schema
    path = data.draw(st.lists(st.sampled_from(["properties", "police_contact", "area", "items"])))
    for step in path:
        if isinstance(target, dict) and isinstance(target.get(step), dict):
            target = target[step]
    key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=12))
    target[key] = data.draw(json_values)
    with tempfile.TemporaryDirectory() as tmp:
        directory = write(Path(tmp) / "schemas", schema)
        try:
            FactTypeCatalog.load(directory)
        except CatalogError as exc:
            assert exc.problems
