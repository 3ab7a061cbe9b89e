"""Forms generated from fact-type schemas, and the intake form: Dutch messages at the right
inputs, and exactly the API's validation (hub.web.forms)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.cases.schemas import CaseIn
from hub.facts.catalog import FactType, FactTypeCatalog, FactValidationError
from hub.web.forms import (
    FormError,
    FormField,
    UnsupportedSchema,
    errors_by_field,
    form_values,
    input_id,
    intake_options,
    parse_intake_form,
    parse_schema_form,
    schema_form,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas"
EXAMPLES = SCHEMA_DIR / "examples"
TEMPLATES = ROOT / "hub" / "web" / "templates"

CATALOG = FactTypeCatalog.load(SCHEMA_DIR)
TYPES = CATALOG.types()
VALID_BSN = "111222333"


def example(fact_type: FactType) -> dict[str, Any]:
    path = EXAMPLES / f"{fact_type.name}.{fact_type.version}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def as_form(values: dict[str, str | list[str]]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def leaves(fields: list[FormField] | tuple[FormField, ...]) -> list[FormField]:
    out: list[FormField] = []
    for f in fields:
        out.extend(leaves(f.children) if f.widget == "fieldset" else [f])
    return out


def api_accepts(fact_type: FactType, content: object) -> bool:
    try:
        fact_type.validate(content)
    except FactValidationError:
        return False
    return True


def messages(errors: list[FormError]) -> dict[str | None, str]:
    return {e.field: e.message for e in errors}


RENT = CATALOG.get("housing.rent_arrears/1")
NUISANCE = CATALOG.get("housing.nuisance_complaint/1")
INCIDENT = CATALOG.get("police.incident/1")


def rent_form(**changes: str) -> dict[str, list[str]]:
    form = as_form(form_values(RENT, example(RENT)))
    for name, value in changes.items():
        form[name.replace("__", ".")] = [value]
    return form


# --- every shipped schema ----------------------------------------------------------------------


@pytest.mark.parametrize("fact_type", TYPES, ids=lambda t: t.id)
def test_every_shipped_fact_type_renders_a_form(fact_type: FactType) -> None:
    fields = schema_form(fact_type)
    assert [f.name for f in fields] == list(fact_type.schema["properties"])
    names = [f.name for f in leaves(fields)]
    assert len(names) == len(set(names))
    for f in leaves(fields):
        assert f.widget != "fieldset" and f.label and f.id == input_id(f.name)
        if f.widget in ("select", "checkboxes", "radio_bool"):
            assert f.options


@pytest.mark.parametrize("fact_type", TYPES, ids=lambda t: t.id)
def test_every_example_round_trips_through_the_form(fact_type: FactType) -> None:
    content = example(fact_type)
    values = form_values(fact_type, content)
    assert all(isinstance(v, str | list) for v in values.values())
    parsed, errors = parse_schema_form(fact_type, as_form(values))
    assert errors == []
    assert parsed == content
    assert json.dumps(parsed, sort_keys=True) == json.dumps(content, sort_keys=True)


def render(fields: list[FormField], values: dict[str, Any], errors: dict[str, str]) -> str:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined
    )
    template = env.from_string(
        '{% from "forms/schema_fields.html" import schema_fields %}'
        "{{ schema_fields(fields, values, errors) }}"
    )
    return template.render(fields=fields, values=values, errors=errors)


@pytest.mark.skipif(
    not (TEMPLATES / "components.html").exists(), reason="components.html not written yet"
)
@pytest.mark.parametrize("fact_type", TYPES, ids=lambda t: t.id)
def test_the_partial_renders_every_example_with_unique_ids(fact_type: FactType) -> None:
    fields = schema_form(fact_type)
    values = form_values(fact_type, example(fact_type))
    errors = {f.id: "Vul dit in." for f in leaves(fields)}
    html = render(fields, values, errors)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    for f in leaves(fields):
        assert f'id="{f.id}"' in html, f.name  # an error summary link lands on the input
        assert f'name="{f.name}"' in html


@pytest.mark.skipif(
    not (TEMPLATES / "components.html").exists(), reason="components.html not written yet"
)
def test_the_partial_escapes_and_refills_what_was_typed() -> None:
    submitted = {"housing_contact.team": ['<script>alert("x")</script>'], "arrears_stage": ["x"]}
    values = form_values(RENT, example(RENT), submitted)
    html = render(schema_form(RENT), values, {})
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert 'value="3120,5"' in html  # a Dutch decimal comma in a text input
    assert 'value="nee"' in html and "Niet opgeven" in html


def test_a_construct_the_form_cannot_render_is_refused_clearly() -> None:
    fact_type = CATALOG.get("plan.note/1")
    schema = fact_type.schema
    schema["properties"]["text"] = {"type": "string", "const": "x", "maxLength": 1}
    fake = FactType(
        id="plan.note/9",
        title="x",
        life_domain=fact_type.life_domain,
        sensitivity=fact_type.sensitivity,
        publisher_kinds=fact_type.publisher_kinds,
        headline_field=fact_type.headline_field,
        date_field=fact_type.date_field,
        fields=fact_type.fields,
        schema_hash="sha256:test",
        _schema=schema,
        _validator=fact_type._validator,
    )
    with pytest.raises(
        UnsupportedSchema, match=r"fact type plan\.note/9: /properties/text: keyword 'const'"
    ):
        schema_form(fake)


# --- widgets and conversion --------------------------------------------------------------------


def test_widgets_follow_the_schema() -> None:
    by_name = {f.name: f for f in leaves(schema_form(RENT))}
    assert by_name["reference_date"].widget == "date"
    assert by_name["reference_date"].required
    assert by_name["arrears_stage"].widget == "select"
    assert ("collection_agency", "Collection agency") in by_name["arrears_stage"].options
    assert by_name["arrears_months"].widget == "integer"
    assert by_name["arrears_amount_eur"].widget == "number"
    assert by_name["arrears_amount_eur"].maximum == 1000000
    assert by_name["payment_arrangement_active"].widget == "radio_bool"
    assert by_name["housing_contact.role"].required
    assert by_name["tenancy_reference"].maxlength == 64
    (contact,) = [f for f in schema_form(RENT) if f.name == "housing_contact"]
    assert contact.widget == "fieldset" and not contact.required
    nuisance = {f.name: f for f in schema_form(NUISANCE)}
    assert nuisance["measures_taken"].widget == "checkboxes"
    assert nuisance["description"].widget == "textarea"
    note = {f.name: f for f in schema_form(CATALOG.get("plan.note/1"))}
    assert ("housing", "Huisvesting") in note["life_domain"].options  # DOMAIN_NL


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1.234,56", 1234.56),
        ("1234,56", 1234.56),
        ("1234.56", 1234.56),
        ("€ 3.120,50", 3120.5),
        ("1.000.000", 1000000),
        ("12", 12),
        (" 0,5 ", 0.5),
    ],
)
def test_numbers_are_read_the_dutch_way(typed: str, expected: float) -> None:
    content, errors = parse_schema_form(RENT, rent_form(arrears_amount_eur=typed))
    assert errors == []
    assert content["arrears_amount_eur"] == expected


@pytest.mark.parametrize("typed", ["2025-03-01", "01-03-2025", "1-3-2025", "01/03/2025"])
def test_dates_are_read_from_a_date_input_and_the_dutch_way(typed: str) -> None:
    content, errors = parse_schema_form(RENT, rent_form(reference_date=typed))
    assert errors == []
    assert content["reference_date"] == "2025-03-01"


def test_empty_optional_fields_are_left_out_and_booleans_come_from_ja_nee() -> None:
    form = {
        "reference_date": ["2025-03-01"],
        "arrears_stage": ["reminder"],
        "arrears_months": [""],
        "payment_arrangement_active": ["ja"],
        "referred_to_debt_assistance": [""],
        "housing_contact.role": ["  "],
        "housing_contact.team": [""],
        "csrf_token": ["secret-token"],
        "nonsense": ["whatever"],
    }
    content, errors = parse_schema_form(RENT, form)
    assert errors == []
    assert content == {
        "reference_date": "2025-03-01",
        "arrears_stage": "reminder",
        "payment_arrangement_active": True,
    }
    values = form_values(RENT, None, form)
    assert "csrf_token" not in values and "nonsense" not in values


def test_text_keeps_its_lines_with_browser_line_ends() -> None:
    form = as_form(form_values(NUISANCE, example(NUISANCE)))
    form["description"] = ["Eerste regel.\r\nTweede regel.\r\n"]
    content, errors = parse_schema_form(NUISANCE, form)
    assert errors == []
    assert content["description"] == "Eerste regel.\nTweede regel."


# --- Dutch messages at the right inputs --------------------------------------------------------


def test_every_problem_is_told_at_once_in_dutch_at_its_input() -> None:
    form = rent_form(
        reference_date="",
        arrears_stage="bogus",
        arrears_months="abc",
        arrears_amount_eur="12,34,56",
        payment_arrangement_active="misschien",
        tenancy_reference="x" * 65,
        housing_contact__phone="bel me",
    )
    content, errors = parse_schema_form(RENT, form)
    assert messages(errors) == {
        "field-reference_date": "Vul Peildatum in.",
        "field-arrears_stage": "Kies een van de mogelijkheden bij Stand van de incasso.",
        "field-arrears_months": "Vul bij Achterstand (maanden huur) een geheel getal in.",
        "field-arrears_amount_eur": "Vul bij Bedrag huurachterstand (EUR) een getal in.",
        "field-payment_arrangement_active": "Kies ja of nee bij Betalingsregeling loopt.",
        "field-housing_contact-phone": (
            "Vul bij Telefoonnummer (Contactpunt corporatie) een telefoonnummer in van cijfers, "
            "eventueel met spaties of streepjes en een + vooraan, bijvoorbeeld 071 1234567."
        ),
        "field-tenancy_reference": "Gebruik hoogstens 64 tekens bij Huurcontractnummer.",
    }
    assert len(errors) == 7
    # in the order of the form
    assert [e.field for e in errors][:3] == [
        "field-reference_date",
        "field-arrears_stage",
        "field-arrears_months",
    ]
    assert not api_accepts(RENT, content)


def test_bad_dates_and_bounds() -> None:
    form = rent_form(reference_date="31-02-2025", arrears_months="121", arrears_amount_eur="-1")
    _, errors = parse_schema_form(RENT, form)
    assert messages(errors) == {
        "field-reference_date": "Vul bij Peildatum een datum in, bijvoorbeeld 05-12-2026.",
        "field-arrears_months": (
            "Vul bij Achterstand (maanden huur) een getal in van hoogstens 120."
        ),
        "field-arrears_amount_eur": (
            "Vul bij Bedrag huurachterstand (EUR) een getal in van ten minste 0."
        ),
    }
    _, errors = parse_schema_form(RENT, rent_form(arrears_amount_eur="2.000.000"))
    assert messages(errors) == {
        "field-arrears_amount_eur": (
            "Vul bij Bedrag huurachterstand (EUR) een getal in van hoogstens 1.000.000."
        )
    }


def test_a_nested_required_field_and_an_empty_required_choice() -> None:
    form = rent_form(housing_contact__role="", arrears_stage="")
    _, errors = parse_schema_form(RENT, form)
    assert messages(errors) == {
        "field-arrears_stage": "Maak een keuze bij Stand van de incasso.",
        "field-housing_contact-role": "Vul Functie contactpersoon (Contactpunt corporatie) in.",
    }


def test_checkboxes_outside_the_list_and_too_long_text() -> None:
    form = as_form(form_values(NUISANCE, example(NUISANCE)))
    form["measures_taken"] = ["conversation", "shouting"]
    form["description"] = ["x" * 1001]
    _, errors = parse_schema_form(NUISANCE, form)
    assert messages(errors) == {
        "field-measures_taken": "Kies een van de mogelijkheden bij Genomen maatregelen.",
        "field-description": "Gebruik hoogstens 1.000 tekens bij Omschrijving.",
    }
    form["measures_taken"] = ["conversation", "conversation"]
    form["description"] = ["kort"]
    _, errors = parse_schema_form(NUISANCE, form)
    assert messages(errors) == {
        "field-measures_taken": "Kies elke mogelijkheid maar één keer bij Genomen maatregelen."
    }


def test_no_message_repeats_what_was_typed() -> None:
    secret = "Jan Jansen 1234"
    form = {name: [secret] for name in (f.name for f in leaves(schema_form(INCIDENT)))}
    _, errors = parse_schema_form(INCIDENT, form)
    assert errors
    assert all(secret not in e.message and "Jansen" not in e.message for e in errors)


def test_every_validator_problem_gets_a_specific_dutch_message() -> None:
    """The translation reads the validator's sentences: when those change, this fails."""
    field = "housing_contact.phone"
    cases = {
        "reference_date": "",
        "arrears_stage": "bogus",
        "tenancy_reference": "x" * 65,
        field: "abc",
        "arrears_months": "500",
        "arrears_amount_eur": "-5",
    }
    for name, value in cases.items():
        _, errors = parse_schema_form(RENT, rent_form(**{name.replace(".", "__"): value}))
        assert len(errors) == 1, name
        assert not errors[0].message.startswith("Controleer wat u"), name


# --- the same validation as the API ------------------------------------------------------------


def test_what_the_api_refuses_the_form_refuses_and_the_other_way_round() -> None:
    for fact_type in TYPES:
        good = example(fact_type)
        content, errors = parse_schema_form(fact_type, as_form(form_values(fact_type, good)))
        assert api_accepts(fact_type, content) and errors == []
        required = [n for n, spec in fact_type.fields.items() if spec.required]
        for name in required:
            bad = {k: v for k, v in good.items() if k != name}
            assert not api_accepts(fact_type, bad)
            content, errors = parse_schema_form(fact_type, as_form(form_values(fact_type, bad)))
            assert content == bad
            assert [e.field for e in errors] == [input_id(name)]


values_strategy = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "ja", "nee", "1.234,56", "12", "-1", "2025-02-30", "05-12-2026", "x"]),
)


@settings(max_examples=50, deadline=None)
@given(
    fact_type=st.sampled_from(TYPES),
    data=st.data(),
)
def test_arbitrary_strings_never_raise_only_give_form_errors(
    fact_type: FactType, data: st.DataObject
) -> None:
    names = [f.name for f in leaves(schema_form(fact_type))] + ["csrf_token", "other"]
    form = data.draw(st.dictionaries(st.sampled_from(names), st.lists(values_strategy, max_size=3)))
    content, errors = parse_schema_form(fact_type, form)
    assert all(isinstance(e, FormError) and e.message for e in errors)
    known = {input_id(n) for n in names} | {None}
    assert all(e.field in known for e in errors)
    if not errors:
        fact_type.validate(content)  # what the form accepts, the API accepts
    else:
        assert not api_accepts(fact_type, content) or any(
            e.field is not None for e in errors
        )  # a conversion error left the field out
    assert isinstance(errors_by_field(errors), dict)
    form_values(fact_type, content, form)


# --- intake ------------------------------------------------------------------------------------


def intake(**fields: str) -> dict[str, list[str]]:
    form = {
        "csrf_token": ["t"],
        "kind": ["family"],
        "proposed_table": ["multi_problem"],
        "reason": ["Huurachterstand en zorgen om de kinderen."],
        "subjects-0-role_in_case": ["Moeder"],
        "subjects-0-bsn": [VALID_BSN],
        "subjects-1-role_in_case": ["kind"],
        "subjects-1-name": ["Sanne de Vries"],
        "subjects-1-date_of_birth": ["05-12-2016"],
    }
    for name, value in fields.items():
        form[name] = [value]
    return form


def test_a_valid_intake_form_gives_a_case_in() -> None:
    case, errors = parse_intake_form(intake())
    assert errors == []
    assert isinstance(case, CaseIn)
    assert case.kind.value == "family" and case.proposed_table.value == "multi_problem"
    assert [s.role_in_case for s in case.subjects] == ["moeder", "kind"]
    assert case.subjects[0].bsn == VALID_BSN
    assert case.subjects[1].date_of_birth is not None
    assert case.subjects[1].date_of_birth.isoformat() == "2016-12-05"
    opts = intake_options()
    assert ("multi_problem", "O3-tafel multiproblematiek") in opts["proposed_table"]
    assert {v for v, _ in opts["kind"]} == {"person", "family", "group", "area"}


def test_empty_subject_rows_are_skipped_and_errors_keep_the_row() -> None:
    form = intake()
    del form["subjects-1-role_in_case"], form["subjects-1-name"]
    del form["subjects-1-date_of_birth"]
    form["subjects-3-role_in_case"] = ["kind"]
    form["subjects-3-address"] = ["x" * 301]
    case, errors = parse_intake_form(form)
    assert case is None
    assert messages(errors) == {
        "field-subjects-3-bsn": (
            "Vul van betrokkene 4 een BSN in, of een naam met een geboortedatum."
        ),
        "field-subjects-3-address": "Gebruik hoogstens 300 tekens bij Adres van betrokkene 4.",
    }


def test_a_missing_reason_and_a_bad_bsn_are_told_in_dutch() -> None:
    case, errors = parse_intake_form(intake(reason="  ", **{"subjects-0-bsn": "123456789"}))
    assert case is None
    assert messages(errors) == {
        "field-reason": "Vul Reden van aanmelding in.",
        "field-subjects-0-bsn": (
            "Vul bij BSN van betrokkene 1 een geldig BSN in: 9 cijfers die voldoen aan de elfproef."
        ),
    }
    assert all("123456789" not in e.message for e in errors)


def test_intake_choices_dates_and_roles() -> None:
    form = intake(kind="", proposed_table="kantine", **{"subjects-1-date_of_birth": "31-02-2016"})
    form["subjects-0-role_in_case"] = ["ouder 1"]
    _, errors = parse_intake_form(form)
    assert messages(errors) == {
        "field-kind": "Maak een keuze bij Soort casus.",
        "field-proposed_table": "Kies een van de mogelijkheden bij Voorgestelde tafel.",
        "field-subjects-0-role_in_case": (
            "Gebruik bij Rol in de casus van betrokkene 1 alleen letters zonder accenten,"
            " bijvoorbeeld ouder of kind."
        ),
        "field-subjects-1-date_of_birth": (
            "Vul bij Geboortedatum van betrokkene 2 een datum in, bijvoorbeeld 05-12-2026."
        ),
    }
    assert [e.field for e in errors][:2] == ["field-kind", "field-proposed_table"]


def test_a_name_without_a_date_of_birth_is_not_enough() -> None:
    form = intake()
    del form["subjects-1-date_of_birth"]
    _, errors = parse_intake_form(form)
    assert [e.field for e in errors] == ["field-subjects-1-date_of_birth"]


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["kind", "proposed_table", "reason", "csrf_token"]
            + [
                f"subjects-{row}-{field}"
                for row in (0, 1, 5, 6)
                for field in ("role_in_case", "bsn", "name", "date_of_birth", "address")
            ]
        ),
        st.lists(values_strategy, max_size=2),
    )
)
def test_arbitrary_intake_forms_never_raise(form: dict[str, list[str]]) -> None:
    case, errors = parse_intake_form(form)
    assert (case is None) == bool(errors)
    assert all(isinstance(e, FormError) and e.message for e in errors)


def test_an_array_of_free_strings_is_one_line_each(tmp_path: Path) -> None:
    schema = json.loads((SCHEMA_DIR / "plan.note.1.json").read_text(encoding="utf-8"))
    schema["properties"]["keywords"] = {
        "x-life-domain": "housing",
        "x-sensitivity": "ordinary",
        "x-disclosure": "full",
        "type": "array",
        "maxItems": 2,
        "uniqueItems": True,
        "items": {"type": "string", "minLength": 1, "maxLength": 5},
    }
    (tmp_path / "plan.note.1.json").write_text(json.dumps(schema), encoding="utf-8")
    fact_type = FactTypeCatalog.load(tmp_path).get("plan.note/1")
    (lines,) = [f for f in schema_form(fact_type) if f.name == "keywords"]
    assert lines.widget == "lines" and lines.max_items == 2 and lines.maxlength == 5
    good = {**example(CATALOG.get("plan.note/1")), "keywords": ["huur", "geld"]}
    values = form_values(fact_type, good)
    assert values["keywords"] == "huur\ngeld"
    assert parse_schema_form(fact_type, as_form(values)) == (good, [])
    form = as_form(values)
    form["keywords"] = ["huur\r\n\r\nschuld\r\nhuur\r\nlangwoord"]
    _, errors = parse_schema_form(fact_type, form)
    assert {e.field for e in errors} == {"field-keywords"}
    assert len(errors) == 3
    assert {e.message for e in errors} == {
        "Gebruik hoogstens 5 tekens per regel bij Keywords.",
        "Vul hoogstens 2 regels in bij Keywords.",
        "Vul elke regel maar één keer in bij Keywords.",
    }
    assert errors_by_field(errors)["field-keywords"].count("Keywords") == 3


# hub.web may not import hub.crypto (ADR 0015); the form's mirror of its identifier rules must
# agree with it, or the form would refuse what the service takes, or say nothing where it fails.
ID_TEXT = st.one_of(
    st.text(max_size=14),
    st.text(alphabet="0123456789 .-\u2010\uff11", max_size=12),
    st.integers(min_value=0, max_value=999_999_999).map(lambda n: f"{n:09d}"),
)


@settings(max_examples=300, deadline=None)
@given(ID_TEXT)
def test_the_forms_identifier_checks_agree_with_the_blind_index(value: str) -> None:
    from hub.crypto.blind_index import normalize_name, valid_bsn
    from hub.crypto.errors import InvalidIdentifier
    from hub.web.forms import _bsn_ok, _name_ok

    assert _bsn_ok(value) == valid_bsn(value)
    try:
        normalize_name(value)
        kept = True
    except InvalidIdentifier:
        kept = False
    assert _name_ok(value) == kept
