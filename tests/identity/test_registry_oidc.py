"""The optional [partners.oidc] sub-table of the network file: one IdP per partner."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.identity.registry import (
    OidcSpec,
    PartnerSpec,
    RegistryError,
    load_registry,
    parse_registry,
)
from hub.vocabulary import PartnerKind, Role

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "network" / "demo.toml"
_DEMO_RAW: dict[str, Any] = tomllib.loads(DEMO.read_text("utf-8"))

GGZ_OIDC: dict[str, Any] = {
    "issuer": "https://login.ggz.example",
    "client_id": "vhhub",
    "client_secret_env": "VHHUB_OIDC_SECRET_GGZ",
    "role_map": {"casusregie": "casusregisseur", "medewerker": "participant"},
}


def with_oidc(**by_partner: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(_DEMO_RAW)
    for partner in raw["partners"]:
        if partner["id"] in by_partner:
            partner["oidc"] = by_partner[partner["id"]]
    return raw


def refused(**by_partner: dict[str, Any]) -> str:
    with pytest.raises(RegistryError) as exc:
        parse_registry(with_oidc(**by_partner))
    return str(exc.value)


def test_the_demo_network_has_no_idp() -> None:
    registry = load_registry(DEMO)
    assert registry.oidc_partners() == []
    assert all(p.oidc is None for p in registry.partners.values())


def test_partner_spec_without_oidc_still_constructs() -> None:
    spec = PartnerSpec("x", "X", PartnerKind.POLICE, "dev", None)
    assert spec.oidc is None and spec.alg == "ES256"


def test_a_full_oidc_table_and_the_defaults() -> None:
    full = {
        **GGZ_OIDC,
        "scopes": ["openid", "profile", "email"],
        "user_claim": "preferred_username",
        "name_claim": "given_name",
        "roles_claim": "groups",
    }
    registry = parse_registry(with_oidc(ggz=full, jeugdzorg={**GGZ_OIDC, "client_id": "hub2"}))
    assert [p.id for p in registry.oidc_partners()] == ["ggz", "jeugdzorg"]
    ggz = registry.partners["ggz"].oidc
    assert ggz == OidcSpec(
        issuer="https://login.ggz.example",
        client_id="vhhub",
        client_secret_env="VHHUB_OIDC_SECRET_GGZ",
        scopes=("openid", "profile", "email"),
        user_claim="preferred_username",
        name_claim="given_name",
        roles_claim="groups",
        role_map=(("casusregie", Role.CASUSREGISSEUR), ("medewerker", Role.PARTICIPANT)),
    )
    defaults = registry.partners["jeugdzorg"].oidc
    assert defaults is not None
    assert defaults.scopes == ("openid", "profile")
    assert (defaults.user_claim, defaults.name_claim, defaults.roles_claim) == (
        "sub",
        "name",
        "roles",
    )
    assert defaults.role_for("casusregie") is Role.CASUSREGISSEUR
    assert defaults.role_for("beheerder") is None


def test_the_commented_example_in_demo_toml_parses() -> None:
    """The example block at the top of network/demo.toml, uncommented, is a valid table."""
    text = DEMO.read_text("utf-8")
    block = re.search(r"^#   \[partners\.oidc\]\n((?:#   .*\n)+)", text, re.MULTILINE)
    assert block is not None
    table = tomllib.loads("\n".join(line[4:] for line in block.group(1).splitlines()))
    registry = parse_registry(with_oidc(ggz=table))
    assert registry.partners["ggz"].oidc is not None


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.example/realms/zvh",
        "https://login.example/",
        "http://127.0.0.1:8080",
        "http://[::1]:9000/op",
        "http://localhost:5556/dex",
    ],
)
def test_issuer_https_or_http_on_loopback(issuer: str) -> None:
    registry = parse_registry(with_oidc(ggz={**GGZ_OIDC, "issuer": issuer}))
    assert registry.partners["ggz"].oidc is not None


@pytest.mark.parametrize(
    "issuer",
    [
        "http://login.example",
        "http://10.0.0.1",
        "http://127.0.0.1.example",
        "ftp://login.example",
        "login.example",
        "https://",
        "https://login.example/?tenant=zvh",
        "https://login.example/#x",
        "https://user:pw@login.example",
        "https://login.example:99999",
    ],
)
def test_issuer_refused(issuer: str) -> None:
    message = refused(ggz={**GGZ_OIDC, "issuer": issuer})
    assert "partner ggz" in message and "issuer" in message
    assert "pw" not in message


def test_unknown_keys_are_errors() -> None:
    message = refused(ggz={**GGZ_OIDC, "client_sekret_env": "X"})
    assert "partner ggz" in message and "client_sekret_env" in message


def test_a_secret_in_the_file_is_refused_without_repeating_it() -> None:
    message = refused(ggz={**GGZ_OIDC, "client_secret": "hunter2-very-secret"})
    assert "client_secret_env" in message
    assert "hunter2" not in message


def test_client_secret_env_must_name_a_variable() -> None:
    message = refused(ggz={**GGZ_OIDC, "client_secret_env": "s3cr3t value!"})
    assert "environment variable" in message and "s3cr3t" not in message


@pytest.mark.parametrize("key", ["issuer", "client_id", "client_secret_env"])
def test_required_keys(key: str) -> None:
    table = {k: v for k, v in GGZ_OIDC.items() if k != key}
    assert key in refused(ggz=table)


@pytest.mark.parametrize("key", ["user_claim", "name_claim", "roles_claim", "client_id"])
def test_claim_names_must_be_non_empty_strings(key: str) -> None:
    assert key in refused(ggz={**GGZ_OIDC, key: ""})
    assert key in refused(ggz={**GGZ_OIDC, key: 3})


def test_scopes_must_include_openid_and_be_scope_names() -> None:
    assert "openid" in refused(ggz={**GGZ_OIDC, "scopes": ["profile"]})
    assert "scopes" in refused(ggz={**GGZ_OIDC, "scopes": "openid profile"})
    assert "scopes" in refused(ggz={**GGZ_OIDC, "scopes": ["openid", "pro file"]})


def test_role_map_is_required() -> None:
    table = {k: v for k, v in GGZ_OIDC.items() if k != "role_map"}
    assert "role_map" in refused(ggz=table)
    assert "role_map" in refused(ggz={**GGZ_OIDC, "role_map": {}})
    assert "role_map" in refused(ggz={**GGZ_OIDC, "role_map": ["participant"]})


def test_role_map_values_must_be_vhhub_roles() -> None:
    message = refused(ggz={**GGZ_OIDC, "role_map": {"medewerker": "superuser"}})
    assert "unknown role" in message and "partner ggz" in message


def test_role_map_values_must_be_roles_of_the_partner_kind() -> None:
    """A housing corporation's IdP cannot grant auditor; GGZ cannot grant procesregie."""
    message = refused(
        woningcorporatie={**GGZ_OIDC, "role_map": {"accountant": "auditor"}},
    )
    assert "partner woningcorporatie" in message and "auditor" in message
    assert "housing" in message
    message = refused(ggz={**GGZ_OIDC, "role_map": {"zvh-regie": "procesregisseur"}})
    assert "partner ggz" in message and "procesregisseur" in message


def test_one_issuer_and_client_id_for_two_partners_is_refused() -> None:
    """Else an ID token for the one would log a person in as the other."""
    message = refused(ggz=GGZ_OIDC, jeugdzorg=GGZ_OIDC)
    assert "ggz" in message and "jeugdzorg" in message and "client_id" in message
    # a trailing slash does not make it another issuer for this check
    message = refused(ggz=GGZ_OIDC, jeugdzorg={**GGZ_OIDC, "issuer": GGZ_OIDC["issuer"] + "/"})
    assert "client_id" in message


def test_one_issuer_with_distinct_client_ids_is_allowed() -> None:
    registry = parse_registry(
        with_oidc(
            **{
                "gemeente-wi": {**GGZ_OIDC, "client_id": "vhhub-wi"},
                "gemeente-leerplicht": {**GGZ_OIDC, "client_id": "vhhub-leerplicht"},
            }
        )
    )
    assert {p.id for p in registry.oidc_partners()} == {"gemeente-wi", "gemeente-leerplicht"}


def test_oidc_must_be_a_table() -> None:
    assert "must be a table" in refused(ggz="https://login.ggz.example")  # type: ignore[arg-type]
