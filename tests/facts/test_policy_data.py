"""The policy's fact-type data is generated from the fact-type schemas, and nothing else.

policies/data/fact_types.json is what `hub.facts.policy_data` renders from schemas/; a schema
change the file does not follow is named by type, refused by `vhhub policy data --check` (CI)
and by `vhhub policy bundle`. Every test here works on copies: the real schemas/ and
policies/ are only read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hub.facts.catalog import CatalogError, FactTypeCatalog
from hub.facts.policy_data import (
    POLICY_DATA_FILE,
    policy_data_drift,
    policy_fact_types,
    render_policy_fact_types,
)
from hub.policy_review.cli import policy_app
from hub.settings import PROJECT_ROOT
from hub.vocabulary import DisclosureClass

SCHEMAS = PROJECT_ROOT / "schemas"
POLICIES = PROJECT_ROOT / "policies"
COMMITTED = POLICIES / POLICY_DATA_FILE
#: A type whose sensitivity the tests raise in a copy (ordinary -> special).
CHANGED_TYPE = "housing.eviction/1"
CHANGED_FILE = "housing.eviction.1.json"


@pytest.fixture(scope="module")
def catalog() -> FactTypeCatalog:
    return FactTypeCatalog.load(SCHEMAS)


def schema_copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, target)
    return target


def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def edit_json(path: Path, change: Any) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def raise_sensitivity(schema: dict[str, Any]) -> None:
    """ordinary -> special, for the type and one field (the type is its highest field)."""
    assert schema["x-sensitivity"] == "ordinary"
    schema["x-sensitivity"] = "special"
    schema["properties"]["reason"]["x-sensitivity"] = "special"


def drifted_schemas(tmp_path: Path) -> Path:
    """A copy of schemas/ in which only CHANGED_TYPE's sensitivity annotation changed."""
    schemas = schema_copy(tmp_path)
    edit_json(schemas / CHANGED_FILE, raise_sensitivity)
    return schemas


def invoke(*args: str) -> Result:
    return CliRunner().invoke(policy_app, list(args))


@pytest.fixture
def schema_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the CLI's settings (VHHUB_SCHEMA_DIR) at a schemas directory."""

    def use(schemas: Path) -> None:
        monkeypatch.setenv("VHHUB_SCHEMA_DIR", str(schemas))

    monkeypatch.delenv("VHHUB_POLICY_DIR", raising=False)
    return use


# --- the committed file is the generated one --------------------------------------------------


def test_the_committed_file_is_exactly_what_the_schemas_render(catalog: FactTypeCatalog) -> None:
    text = COMMITTED.read_text(encoding="utf-8")
    assert render_policy_fact_types(catalog) == text
    assert policy_fact_types(catalog) == json.loads(text)
    assert policy_data_drift(catalog, POLICIES) == []


def test_every_catalog_type_has_an_entry_with_its_domain_and_sensitivity(
    catalog: FactTypeCatalog,
) -> None:
    document = policy_fact_types(catalog)
    assert list(document) == sorted(catalog.ids())
    for fact_type in catalog.types():
        entry = document[fact_type.id]
        assert set(entry) == {
            "title",
            "domain",
            "sensitivity",
            "never_shared",
            "reveals",
            "sensitivity_stated",
        }
        assert entry["reveals"] == fact_type.revealing_fields()
        # only plan notes state their own sensitivity; every published fact's category may
        # be raised by its publisher's kind
        assert entry["sensitivity_stated"] is fact_type.id.startswith("plan.note")
        assert entry["sensitivity"] == fact_type.sensitivity.value
        if fact_type.domain_field is None:
            assert entry["domain"] == fact_type.life_domain.value
        else:
            assert entry["domain"] == "*"
        never = {n for n, s in fact_type.fields.items() if s.disclosure is DisclosureClass.NEVER}
        assert set(entry["never_shared"]) <= never, fact_type.id
        assert all(flag is True for flag in entry["never_shared"].values())


def test_the_annotations_carry_what_the_policy_relies_on(catalog: FactTypeCatalog) -> None:
    document = policy_fact_types(catalog)
    assert [t for t, e in document.items() if e["domain"] == "*"] == [
        "network.involvement_signal/1",
        "plan.note/1",
        "plan.note_criminal/1",
        "plan.note_special/1",
    ]
    assert document["mental_health.involvement/1"]["never_shared"] == {
        "diagnosis": True,
        "treatment_details": True,
    }
    assert document["police.incident/1"]["title"].startswith("Politie: incident (")


def test_rendering_is_deterministic_sorted_and_ends_in_one_newline(
    catalog: FactTypeCatalog,
) -> None:
    text = render_policy_fact_types(catalog)
    assert text == render_policy_fact_types(FactTypeCatalog.load(SCHEMAS))
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert max(len(line) for line in text.splitlines()) <= 120


# --- drift is named by type, never with values ------------------------------------------------


def test_a_changed_sensitivity_annotation_names_that_type_and_no_value(tmp_path: Path) -> None:
    drifted = FactTypeCatalog.load(drifted_schemas(tmp_path))
    drift = policy_data_drift(drifted, POLICIES)
    assert drift == [f"{CHANGED_TYPE}: sensitivity differs from the schemas"]
    assert not any(value in line for line in drift for value in ("special", "ordinary"))


def test_a_hand_edit_of_the_policy_data_is_drift_too(
    catalog: FactTypeCatalog, tmp_path: Path
) -> None:
    policies = policy_copy(tmp_path)

    def edit(document: dict[str, Any]) -> None:
        document["mental_health.involvement/1"]["never_shared"].pop("diagnosis")
        document["police.incident/1"]["domain"] = "justice"
        document["police.incident/1"]["title"] = "changed"
        del document["housing.eviction/1"]
        document["police.unknown/1"] = {}

    edit_json(policies / POLICY_DATA_FILE, edit)
    assert policy_data_drift(catalog, policies) == [
        "housing.eviction/1: has a schema but no entry",
        "mental_health.involvement/1: never_shared differs from the schemas",
        "police.incident/1: domain, title differ from the schemas",
        "police.unknown/1: has an entry but no schema",
    ]


def test_a_reformatted_but_equal_file_is_in_line(catalog: FactTypeCatalog, tmp_path: Path) -> None:
    policies = policy_copy(tmp_path)
    path = policies / POLICY_DATA_FILE
    path.write_text(json.dumps(json.loads(path.read_text())), encoding="utf-8")
    assert policy_data_drift(catalog, policies) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "missing"),
        (b"{not json", "unreadable (JSONDecodeError)"),
        (b"\xff\xfe", "unreadable (UnicodeDecodeError)"),
        (b"[]", "not a JSON object"),
    ],
)
def test_a_missing_or_unreadable_file_is_one_line_naming_the_file(
    catalog: FactTypeCatalog, tmp_path: Path, content: bytes | None, expected: str
) -> None:
    policies = policy_copy(tmp_path)
    path = policies / POLICY_DATA_FILE
    path.unlink()
    if content is not None:
        path.write_bytes(content)
    assert policy_data_drift(catalog, policies) == [f"{path}: {expected}"]


# --- the annotations the generated data needs are checked like every other ------------------


@pytest.mark.parametrize(
    ("file_name", "change", "problem"),
    [
        (
            "police.incident.1.json",
            lambda s: s["properties"]["area"].update({"x-policy-never-shared": True}),
            '/properties/area: "x-policy-never-shared" must be true, and only on a never-class',
        ),
        (
            "police.incident.1.json",
            lambda s: s["properties"]["victim_details"].update({"x-policy-never-shared": False}),
            '"x-policy-never-shared" must be true',
        ),
        (
            "police.incident.1.json",
            lambda s: s.update({"x-policy-title": " "}),
            '"x-policy-title" must be a non-empty string',
        ),
        (
            "police.incident.1.json",
            lambda s: s.update({"x-domain-field": "area"}),
            '"x-domain-field" must name a required string property',
        ),
        (
            "network.involvement_signal.1.json",
            lambda s: s.update({"x-domain-field": "nothing"}),
            '"x-domain-field" must name',
        ),
    ],
)
def test_a_malformed_policy_annotation_refuses_the_catalog(
    tmp_path: Path, file_name: str, change: Any, problem: str
) -> None:
    schemas = schema_copy(tmp_path)
    edit_json(schemas / file_name, change)
    with pytest.raises(CatalogError) as raised:
        FactTypeCatalog.load(schemas)
    assert any(p.startswith(file_name) and problem in p for p in raised.value.problems), (
        raised.value.problems
    )


def test_without_the_optional_annotations_the_schema_title_and_no_never_shared_apply(
    tmp_path: Path,
) -> None:
    schemas = schema_copy(tmp_path)

    def strip(schema: dict[str, Any]) -> None:
        schema.pop("x-policy-title")
        for field in schema["properties"].values():
            field.pop("x-policy-never-shared", None)

    edit_json(schemas / "police.incident.1.json", strip)
    entry = policy_fact_types(FactTypeCatalog.load(schemas))["police.incident/1"]
    assert entry["title"] == "Politie: incident of strafbaar feit"
    assert entry["never_shared"] == {}


# --- the CLI: `vhhub policy data [--check]` and `vhhub policy bundle` -------------------------


def test_check_is_in_line_on_the_shipped_schemas_and_policies(schema_env: Any) -> None:
    schema_env(SCHEMAS)
    result = invoke("data", "--check", "--policy-dir", str(POLICIES))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and "in line" in result.stdout


def test_check_exits_1_naming_the_type_whose_schema_changed(
    tmp_path: Path, schema_env: Any
) -> None:
    schema_env(drifted_schemas(tmp_path))
    policies = policy_copy(tmp_path)
    before = (policies / POLICY_DATA_FILE).read_bytes()
    result = invoke("data", "--check", "--policy-dir", str(policies))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [f"{CHANGED_TYPE}: sensitivity differs from the schemas"]
    assert (policies / POLICY_DATA_FILE).read_bytes() == before  # --check writes nothing


def test_check_exits_1_as_the_installed_command_ci_runs(tmp_path: Path) -> None:
    vhhub = Path(sys.executable).parent / "vhhub"
    if not vhhub.is_file():
        pytest.skip("the vhhub console script is not installed beside this interpreter")
    env = {**os.environ, "VHHUB_SCHEMA_DIR": str(drifted_schemas(tmp_path))}
    env.pop("VHHUB_POLICY_DIR", None)
    command = [str(vhhub), "policy", "data", "--check", "--policy-dir"]
    drifted = subprocess.run(
        [*command, str(policy_copy(tmp_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert drifted.returncode == 1, drifted.stderr
    assert drifted.stdout.splitlines() == [f"{CHANGED_TYPE}: sensitivity differs from the schemas"]
    env["VHHUB_SCHEMA_DIR"] = str(SCHEMAS)
    in_line = subprocess.run(
        [*command, str(POLICIES)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert in_line.returncode == 0, in_line.stderr


def test_data_rewrites_the_file_from_the_schemas_and_then_check_passes(
    tmp_path: Path, schema_env: Any
) -> None:
    schemas = drifted_schemas(tmp_path)
    schema_env(schemas)
    policies = policy_copy(tmp_path)
    result = invoke("data", "--policy-dir", str(policies))
    assert result.exit_code == 0, result.output
    written = (policies / POLICY_DATA_FILE).read_text(encoding="utf-8")
    assert written == render_policy_fact_types(FactTypeCatalog.load(schemas))
    assert json.loads(written)[CHANGED_TYPE]["sensitivity"] == "special"
    again = invoke("data", "--check", "--policy-dir", str(policies))
    assert again.exit_code == 0, again.output


def test_data_on_the_shipped_schemas_leaves_a_copy_of_the_shipped_file_byte_for_byte(
    tmp_path: Path, schema_env: Any
) -> None:
    schema_env(SCHEMAS)
    policies = policy_copy(tmp_path)
    result = invoke("data", "--policy-dir", str(policies))
    assert result.exit_code == 0, result.output
    assert (policies / POLICY_DATA_FILE).read_bytes() == COMMITTED.read_bytes()


def test_bundle_refuses_a_drifted_directory_in_one_line(tmp_path: Path, schema_env: Any) -> None:
    schema_env(drifted_schemas(tmp_path))
    output = tmp_path / "bundle.tar.gz"
    result = invoke("bundle", str(output), "--policy-dir", str(policy_copy(tmp_path)))
    assert result.exit_code == 1, result.output
    assert len(result.output.splitlines()) == 1
    assert "drifted" in result.output and "fact_types.json" in result.output
    assert not output.exists()


def test_bundle_refuses_a_directory_without_the_fact_type_data(
    tmp_path: Path, schema_env: Any
) -> None:
    schema_env(SCHEMAS)
    policies = policy_copy(tmp_path)
    (policies / POLICY_DATA_FILE).unlink()
    output = tmp_path / "bundle.tar.gz"
    result = invoke("bundle", str(output), "--policy-dir", str(policies))
    assert result.exit_code == 1, result.output
    assert not output.exists()


def test_bundle_builds_from_a_directory_in_line_with_the_schemas(
    tmp_path: Path, schema_env: Any
) -> None:
    schema_env(SCHEMAS)
    output = tmp_path / "bundle.tar.gz"
    result = invoke("bundle", str(output), "--policy-dir", str(policy_copy(tmp_path)))
    assert result.exit_code == 0, result.output
    assert output.is_file() and "revision" in result.stdout
