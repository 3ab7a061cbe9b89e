"""The one door, by construction: what only the gate, the vault and the disclosure package
may do, checked on the source so that a second way in fails CI.

- only hub/gate asks a policy engine for a decision about a real request, and only the gate
  mints permits;
- only hub/disclosure calls the vault's `open_*` methods, and only the vault opens an
  envelope (hub/crypto aside, where the primitive lives);
- permits cannot be constructed, copied or pickled outside the gate;
- every action of the policy's action catalogue has its access-log action in the gate.
"""

from __future__ import annotations

import ast
import copy
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.gate.gate import ACTION_EVENTS
from hub.gate.permits import ActionPermit, FactPermit, PlanPermit, _mint
from hub.settings import PROJECT_ROOT
from hub.vocabulary import DisclosureLevel

HUB = PROJECT_ROOT / "hub"

#: Engine questions. The privacy officer's review engines (a stored version's own engine,
#: never the serving one) may ask them for simulations and diffs, which decide on described
#: viewers and metadata and open nothing.
ENGINE_CALLS = {"decide_batch", "allow_action", "allow_publish"}
REVIEW_ENGINE_MODULES = {"policy_review/simulate.py", "policy_review/diff.py"}
OPEN_CALLS = {"open_fact", "open_document", "open_subject", "open_minutes"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(HUB.rglob("*.py")):
        rel = str(path.relative_to(HUB))
        yield rel, ast.parse(path.read_text(), filename=rel)


def _called_attributes(tree: ast.Module) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def _names(tree: ast.Module) -> set[str]:
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {alias.name for alias in node.names}
    return names


def _imports(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def test_only_the_gate_asks_the_engine() -> None:
    offenders = [
        rel
        for rel, tree in _modules()
        if not rel.startswith(("gate/", "rego/"))
        and rel not in REVIEW_ENGINE_MODULES
        and _called_attributes(tree) & ENGINE_CALLS
    ]
    assert offenders == []


def test_only_the_gate_and_the_composition_root_hold_the_serving_engine() -> None:
    allowed = ("gate/", "rego/", "context.py")
    offenders = [
        rel
        for rel, tree in _modules()
        if not rel.startswith(allowed)
        and {"hub.rego.serving", "hub.rego.serving.ServingEngine"} & _imports(tree)
        and not rel.startswith("policy_review/store.py")  # raises its SourceUnavailable
    ]
    assert offenders == []


def test_the_gate_hands_out_no_engine() -> None:
    from hub.gate.gate import Gate

    public = {name for name in dir(Gate) if not name.startswith("_")}
    assert not public & {"engine", "serving", "current"}


def test_only_the_gate_mints_permits() -> None:
    offenders = [
        rel
        for rel, tree in _modules()
        if not rel.startswith("gate/") and ({"_mint", "__new__"} & _names(tree))
    ]
    assert offenders == []


def test_only_the_disclosure_package_opens_the_vault() -> None:
    offenders = [
        rel
        for rel, tree in _modules()
        if not rel.startswith("disclosure/") and _called_attributes(tree) & OPEN_CALLS
    ]
    assert offenders == []


def test_only_the_vault_opens_an_envelope() -> None:
    offenders = [
        rel
        for rel, tree in _modules()
        if rel != "disclosure/vault.py"
        and not rel.startswith("crypto/")
        and "open_sealed" in _names(tree)
    ]
    assert offenders == []


def test_no_key_bytes_leave_crypto() -> None:
    """Features get key objects (a blind indexer, a signer), never key material."""
    offenders = [
        rel
        for rel, tree in _modules()
        if not rel.startswith("crypto/")
        and {"blind_index_key", "audit_signing_key", "unwrap_data_key"} & _called_attributes(tree)
        and rel != "disclosure/vault.py"  # unwraps a case's data key to open with a permit
    ]
    assert offenders == []


@pytest.mark.parametrize("permit_class", [ActionPermit, FactPermit, PlanPermit])
def test_a_permit_cannot_be_constructed_outside_the_gate(permit_class: type) -> None:
    with pytest.raises(TypeError, match="minted by the gate"):
        permit_class(case_id="c", policy_version="v")


def test_a_permit_cannot_be_changed_copied_or_pickled() -> None:
    permit = _mint(
        FactPermit,
        case_id="c",
        fact_id="f",
        level=DisclosureLevel.SUMMARY,
        fields=("a",),
        reason="r",
        rule="x",
        policy_version="v",
    )
    with pytest.raises(AttributeError):
        permit.fields = ("a", "secret")  # type: ignore[misc]
    with pytest.raises(TypeError):
        copy.copy(permit)
    with pytest.raises(TypeError):
        pickle.dumps(permit)
    assert permit.narrowed(("a", "secret")).fields == ("a",)


def test_the_vault_refuses_anything_but_a_permit() -> None:
    from hub.disclosure.vault import _demand

    class Lookalike:
        case_id = "c"
        fact_id = "f"

    with pytest.raises(TypeError):
        _demand(Lookalike(), FactPermit)  # type: ignore[arg-type]


def test_every_catalogue_action_has_its_log_action() -> None:
    catalogue = json.loads((PROJECT_ROOT / "policies/data/action_rules.json").read_text())
    assert set(catalogue) == set(ACTION_EVENTS)


def test_the_checks_above_would_catch_a_second_door(tmp_path: Path) -> None:
    """The source checks are not vacuous: a module outside the door that opens the vault,
    asks the engine or mints a permit is found."""
    rogue = ast.parse(
        "def leak(vault, engine, s, f, p):\n"
        "    engine.decide_batch({})\n"
        "    vault.open_fact(s, f, p)\n"
        "    from hub.gate.permits import _mint\n"
    )
    assert _called_attributes(rogue) & ENGINE_CALLS
    assert _called_attributes(rogue) & OPEN_CALLS
    assert "_mint" in _names(rogue)
