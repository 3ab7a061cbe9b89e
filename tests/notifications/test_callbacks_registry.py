"""The callback allow-list in the network file ([partners.notifications]): only https URLs
(http on loopback for tests) without user info, query or fragment; a subscription's
callback must equal an entry or lie under one ending in "/". No database involved."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from hub.identity.registry import RegistryError, callback_url_error, parse_registry
from hub.settings import PROJECT_ROOT


def _network(notifications: Any) -> dict[str, Any]:
    raw = tomllib.loads((PROJECT_ROOT / "network" / "demo.toml").read_text(encoding="utf-8"))
    for partner in raw["partners"]:
        if partner["id"] == "politie":
            partner["notifications"] = notifications
    return raw


def test_the_allow_list_accepts_exact_urls_and_prefixes_ending_in_a_slash() -> None:
    registry = parse_registry(
        _network(
            {
                "callbacks": [
                    "https://koppeling.politie.example/vhhub/",
                    "https://events.politie.example/hook",
                    "http://127.0.0.1:8080/dev/",
                ]
            }
        )
    )
    spec = registry.partners["politie"].notifications
    assert spec is not None
    assert spec.allows("https://koppeling.politie.example/vhhub/events")
    assert spec.allows("https://events.politie.example/hook")
    assert not spec.allows("https://events.politie.example/hook2")
    assert not spec.allows("https://events.politie.example/hook/x")
    assert not spec.allows("https://koppeling.politie.example/other")
    assert not spec.allows("https://koppeling.politie.example.evil.example/vhhub/x")
    assert spec.allows("http://127.0.0.1:8080/dev/a")
    # a prefix cannot be left by dot segments, plain or percent-encoded: the subscription
    # is refused before the allow-list is consulted
    for escape in ("/vhhub/../admin", "/vhhub/%2e%2e/admin", "/vhhub/%2E./x", "/vhhub/./x"):
        assert callback_url_error(f"https://koppeling.politie.example{escape}") is not None
    assert callback_url_error("https://koppeling.politie.example/vhhub/..hidden") is None
    # partners without the sub-table cannot subscribe
    assert registry.partners["om"].notifications is None


@pytest.mark.parametrize(
    "callbacks",
    [
        ["http://koppeling.politie.example/"],  # http off loopback
        ["https://user:pw@koppeling.politie.example/"],
        ["https://koppeling.politie.example/?token=x"],
        ["https://koppeling.politie.example/#x"],
        ["ftp://koppeling.politie.example/"],
        ["/relative/"],
        ["https://koppeling.politie.example/vhhub/../"],
        [],
        "https://koppeling.politie.example/",
        [42],
    ],
)
def test_a_bad_callback_entry_stops_the_network_file(callbacks: Any) -> None:
    with pytest.raises(RegistryError) as info:
        parse_registry(_network({"callbacks": callbacks}))
    assert "politie" in str(info.value)
    # a secret pasted into a URL never comes back in the message
    assert "pw" not in str(info.value) and "token" not in str(info.value)


def test_an_unknown_key_in_the_notifications_table_is_an_error() -> None:
    with pytest.raises(RegistryError, match="unknown key"):
        parse_registry(_network({"callbacks": ["https://a.example/"], "secret": "x"}))
