"""Property: a rejected fact never echoes what was submitted.

A marker that looks like personal data (a name and a BSN-shaped number) is planted in values,
in keys (free text, and snake_case that looks just like one of our field names), and inside
nested structures; whatever the validator finds wrong, the marker appears nowhere in the
errors, the message or the problem answer -- nor in the hub's 400 over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.facts.catalog import FactType, FactTypeCatalog, FactValidationError
from tests.cases.test_workflow import actor, new_case
from tests.conftest import RunningHub

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = FactTypeCatalog.load(SCHEMA_DIR)
MARKER = "Jan Jansen 123456782"
FRAGMENTS = ("Jansen", "jansen", "123456782")
#: a member name that is plain snake_case, as our field names are, and personal data
SNAKE_MARKER = "jan_jansen_bsn_123456782"


def example(fact_type: FactType) -> dict[str, Any]:
    path = SCHEMA_DIR / "examples" / f"{fact_type.name}.{fact_type.version}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


marked_text = st.builds(
    lambda before, after: before + MARKER + after, st.text(max_size=8), st.text(max_size=8)
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    marked_text,
    st.builds(lambda v: "2025-03-14" + v, marked_text),
    st.builds(lambda v: v * 60, marked_text),  # far beyond any maxLength
)
marked_json = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(marked_text, st.sampled_from(["role", "phone", SNAKE_MARKER])),
            children,
            max_size=3,
        ),
    ),
    max_leaves=12,
)


@st.composite
def marked_documents(draw: st.DrawFn) -> tuple[FactType, object]:
    fact_type = draw(st.sampled_from(CATALOG.types()))
    document: dict[Any, Any] = example(fact_type)
    for name in draw(st.lists(st.sampled_from(sorted(fact_type.fields)), max_size=4)):
        if draw(st.booleans()):
            document[name] = draw(marked_json)
        else:
            document.pop(name, None)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        document[draw(marked_text)] = draw(marked_json)
    if draw(st.booleans()):
        document[SNAKE_MARKER] = draw(marked_json)
    if draw(st.booleans()):
        document[draw(st.sampled_from(["extra", "notes"]))] = draw(marked_json)
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return fact_type, draw(marked_json)  # not even an object
    return fact_type, document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marked_documents())
def test_validation_errors_never_contain_submitted_values(case: tuple[FactType, object]) -> None:
    fact_type, document = case
    try:
        fact_type.validate(document)
    except FactValidationError as exc:
        shown = [
            json.dumps(exc.errors, ensure_ascii=False),
            str(exc),
            repr(exc),
            json.dumps(exc.to_problem(), ensure_ascii=False),
        ]
        for text in shown:
            for fragment in FRAGMENTS:
                assert fragment not in text
        assert exc.errors, "a rejection always says why"
        for item in exc.errors:
            assert set(item) == {"pointer", "problem"}
            assert item["pointer"] == "" or item["pointer"].startswith("/")


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(CATALOG.types()), st.data())
def test_dropping_optional_fields_keeps_an_example_valid(
    fact_type: FactType, data: st.DataObject
) -> None:
    document = example(fact_type)
    optional = sorted(n for n, s in fact_type.fields.items() if not s.required and n in document)
    for name in data.draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []:
        del document[name]
    fact_type.validate(document)


@pytest.mark.parametrize("fact_type", CATALOG.types(), ids=lambda t: t.id)
def test_an_unknown_snake_case_member_name_is_withheld(fact_type: FactType) -> None:
    """Snake_case is no proof that a name is harmless: an extra member is named only when it
    is a near miss of one of the type's own field names (a typo), never otherwise."""
    document = example(fact_type) | {SNAKE_MARKER: 1}
    with pytest.raises(FactValidationError) as info:
        fact_type.validate(document)
    shown = json.dumps(info.value.to_problem(), ensure_ascii=False)
    assert SNAKE_MARKER not in shown and "jansen" not in shown
    assert info.value.errors == [
        {
            "pointer": "",
            "problem": "has 1 unexpected property (name withheld: not a near miss of a field "
            "name of this object)",
        }
    ]


def test_a_publish_with_an_unknown_snake_case_member_echoes_nothing(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    fact_type = CATALOG.get("police.nuisance_report/1")
    response = police.post(
        f"/api/v1/cases/{case['id']}/facts",
        json={
            "idempotency_key": "no-echo-1",
            "type": fact_type.id,
            "legal_basis": "convenant_zvh",
            "content": example(fact_type) | {SNAKE_MARKER: 1},
        },
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    for fragment in (SNAKE_MARKER, *FRAGMENTS):
        assert fragment not in response.text
    assert response.json()["errors"] == [
        {
            "pointer": "/content",
            "problem": "has 1 unexpected property (name withheld: not a near miss of a field "
            "name of this object)",
        }
    ]
