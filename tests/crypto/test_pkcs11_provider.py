"""The KEK inside a PKCS#11 token (docs/adr/0304-keys-in-an-hsm.md), against a real SoftHSM2
token made for this module in a temporary directory.

What an operator relies on: the hub publishes and briefs with case keys wrapped inside the
token and no KEK on disk; the KEK object cannot be read out; `vhhub keys rotate` makes a new
KEK in the token, re-wraps every case key and destroys the old one, old cases opening all the
way through; retention's crypto-shredding still makes a case unreadable, and retiring its KEK
makes a backup's copy of the key useless; a missing token or a wrong PIN fails closed
(/ready 503, nothing disclosed) and the PIN appears nowhere.
"""

from __future__ import annotations

import gc
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from hub.context import HubContext, open_key_provider
from hub.crypto.envelope import WrappedKey, new_data_key
from hub.crypto.errors import DecryptionError, KeyNotFound, KeyStoreError
from hub.crypto.keys import FileKeyProvider
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, released, rows
from tests.support import As

pytestmark = pytest.mark.e2e

_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
LABEL = "vhhub-test"
OTHER_LABEL = "vhhub-other"  # a second token this process never logs in to with its PIN


@dataclass(frozen=True)
class Token:
    module: str
    pin: str


def _missing(what: str) -> None:
    """Skip on a developer's machine without SoftHSM2; fail in CI, which installs it."""
    message = f"{what} (CI must install: apt-get install softhsm2; pip install python-pkcs11)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Free what a test left in reference cycles (contexts, reviewed versions holding
    embedded engines) here: a regorus engine may not be dropped on a server thread."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """Two SoftHSM2 tokens in a temp dir, the first with its first KEK (as an operator
    makes it, keys/README.md). SOFTHSM2_CONF is read once, when the library loads."""
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        _missing("python-pkcs11 is not installed")
    module = next((m for m in _MODULES if Path(m).is_file()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        _missing("SoftHSM2 is not installed")
    assert module is not None and util is not None
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin = f"pin-{secrets.token_hex(8)}"
    for label in (LABEL, OTHER_LABEL):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", pin],
            check=True,
            capture_output=True,
        )
    _provider(module, pin).create_kek()
    yield Token(module=module, pin=pin)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _provider(module: str, pin: str, label: str = LABEL, **kw: Any) -> Any:
    from hub.crypto.key_pkcs11 import Pkcs11KeyProvider

    return Pkcs11KeyProvider(
        module=module,
        token_label=label,
        pin=pin,
        others=FileKeyProvider(Path("/nonexistent")),
        **kw,
    )


@pytest.fixture
def settings(db_url: str, tmp_path: Path, token: Token) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        key_provider="pkcs11",
        pkcs11_module=Path(token.module),
        pkcs11_token_label=LABEL,
        pkcs11_pin=SecretStr(token.pin),
    )


@pytest.fixture
def initialised(settings: Settings) -> Settings:
    """`vhhub init` (blind-index and audit signing key files), then no KEK file at all:
    every case key must come from the token."""
    from hub.setup import initialise

    initialise(settings)
    for path in settings.keys_dir.glob("kek-*"):
        path.unlink()
    return settings


@pytest.fixture
def operator(initialised: Settings) -> Iterator[HubContext]:
    ctx = HubContext.open(initialised)
    yield ctx
    ctx.close()


def _case(hub: RunningHub, settings: Settings, bsn: str = "123456782") -> tuple[World, Any]:
    with hub.client() as http:
        world = case_in_preparation(http, settings, subject={"role_in_case": "parent", "bsn": bsn})
        world.publish_incident(f"i-{bsn}", description="Melding op de galerij")
        world.publish_arrears(f"a-{bsn}")
        response = world.briefing(world.housing)
        assert response.status_code == 200, response.text
        return world, released(response.json())


def _briefing(hub: RunningHub, world: World) -> Any:
    with hub.client() as http:
        world.http = world.housing.http = http
        response = world.briefing(world.housing)
        assert response.status_code == 200, response.text
        return released(response.json())


def _wrapped(settings: Settings, case_id: str) -> WrappedKey:
    ((blob,),) = rows(settings, "SELECT wrapped FROM case_keys WHERE case_id = :c", c=case_id)
    return WrappedKey.from_bytes(bytes(blob))


def _rotate_cli(settings: Settings, token: Token, monkeypatch: pytest.MonkeyPatch) -> str:
    from hub.disclosure.cli import keys_app

    for name, value in {
        "VHHUB_DATA_DIR": str(settings.data_dir),
        "VHHUB_DATABASE_URL": settings.effective_database_url,
        "VHHUB_KEY_PROVIDER": "pkcs11",
        "VHHUB_PKCS11_MODULE": token.module,
        "VHHUB_PKCS11_TOKEN_LABEL": LABEL,
        "VHHUB_PKCS11_PIN": token.pin,
    }.items():
        monkeypatch.setenv(name, value)
    app = typer.Typer()
    app.add_typer(keys_app, name="keys")
    result = CliRunner().invoke(app, ["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert token.pin not in result.output
    return result.output


# --- the hub on the token ---------------------------------------------------------------


def test_hub_publishes_and_briefs_with_case_keys_wrapped_in_the_token(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    world, before = _case(hub, initialised)
    assert before  # the housing corporation sees the facts

    keys = operator.keys
    current = keys.current_kek_version()
    wrapped = _wrapped(initialised, world.case_id)
    assert wrapped.kek_version == current
    assert not list(initialised.keys_dir.glob("kek-*"))  # no KEK on disk
    # bound to its case and KEK version, as with every provider (ADR 0301)
    keys.unwrap_data_key(wrapped, case_id=world.case_id)
    with pytest.raises(DecryptionError):
        keys.unwrap_data_key(wrapped, case_id="another-case")
    with pytest.raises(KeyNotFound):
        keys.unwrap_data_key(
            WrappedKey(kek_version="v0", body=wrapped.to_bytes()[-60:]), case_id=world.case_id
        )

    with hub.client() as http:
        ready = http.get("/api/v1/ready")
        assert ready.status_code == 200, ready.text


def test_the_kek_object_cannot_be_read_out_of_the_token(token: Token) -> None:
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.exceptions import AttributeSensitive

    from hub.crypto.key_pkcs11 import library

    provider = _provider(token.module, token.pin)
    version = provider.current_kek_version()
    provider.kek_versions()  # logs this process in (PKCS#11 login is per process)
    with library(token.module) as lib, lib.get_token(token_label=LABEL).open() as session:
        key = session.get_key(
            object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=f"vhhub-kek-{version}"
        )
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        assert key[Attribute.PRIVATE] is True
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]


def test_wrap_and_unwrap_from_many_threads_at_once(token: Token) -> None:
    provider = _provider(token.module, token.pin)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                dek = new_data_key()
                case_id = f"case-{n}-{i}"
                wrapped = provider.wrap_data_key(dek, case_id=case_id)
                assert provider.unwrap_data_key(wrapped, case_id=case_id) == dek
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- rotation ------------------------------------------------------------------------------


def test_keys_rotate_makes_a_new_kek_in_the_token_and_retires_the_old_one(
    hub: RunningHub,
    initialised: Settings,
    operator: HubContext,
    token: Token,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, first_briefing = _case(hub, initialised)
    old = operator.keys.current_kek_version()

    # step 1 by hand: a new current KEK; a case wrapped under the old one still opens, and a
    # new case is wrapped under the new one
    provider: Any = operator.keys
    new = provider.create_kek()
    assert new != old and operator.keys.current_kek_version() == new
    assert _briefing(hub, first) == first_briefing
    second, second_briefing = _case(hub, initialised, bsn="111222333")
    assert _wrapped(initialised, second.case_id).kek_version == new
    assert _wrapped(initialised, first.case_id).kek_version == old

    # `vhhub keys rotate` finishes that rotation: re-wraps, then destroys the old KEK
    output = _rotate_cli(initialised, token, monkeypatch)
    assert f"retired KEK version {old}" in output
    assert old not in operator.keys.kek_versions()
    assert {_wrapped(initialised, w.case_id).kek_version for w in (first, second)} == {new}
    assert _briefing(hub, first) == first_briefing
    assert _briefing(hub, second) == second_briefing


def test_retention_shreds_and_retiring_the_kek_makes_a_backup_copy_useless(
    hub: RunningHub,
    initialised: Settings,
    operator: HubContext,
    token: Token,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hub.retention.service import run_retention

    world, _ = _case(hub, initialised)
    with hub.client() as http:
        world.http = world.zvh.http = http
        world.close()
    backup = _wrapped(initialised, world.case_id)  # a database backup taken before the shred
    operator.keys.unwrap_data_key(backup, case_id=world.case_id)

    report = run_retention(operator, now=datetime.now(UTC) + timedelta(days=731))

    assert report.shredded == (world.case_id,)
    assert rows(initialised, "SELECT 1 FROM case_keys WHERE case_id = :c", c=world.case_id) == []
    with hub.client() as http:
        world.http = world.housing.http = http
        assert world.briefing(world.housing).status_code == 410

    _rotate_cli(initialised, token, monkeypatch)
    with pytest.raises(KeyNotFound):  # the KEK that wrapped the copy is gone from the token
        operator.keys.unwrap_data_key(backup, case_id=world.case_id)


# --- failing closed ------------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["absent token", "wrong pin"])
def test_a_missing_token_or_a_wrong_pin_fails_closed_and_names_no_pin(
    problem: str,
    initialised: Settings,
    token: Token,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong_pin = f"wrong-{secrets.token_hex(8)}"
    broken = initialised.model_copy(
        update={"pkcs11_token_label": "absent"}
        if problem == "absent token"
        else {"pkcs11_token_label": OTHER_LABEL, "pkcs11_pin": SecretStr(wrong_pin)}
    )
    keys = open_key_provider(broken)  # configuration is fine: the token is touched on use
    for call in (keys.current_kek_version, keys.kek_versions):
        with pytest.raises(KeyStoreError) as caught:
            call()
        assert token.pin not in str(caught.value) and wrong_pin not in str(caught.value)
    with pytest.raises(KeyStoreError):
        keys.wrap_data_key(new_data_key(), case_id="c")

    with RunningHub(broken) as running, running.client() as http:
        ready = http.get("/api/v1/ready")
        assert ready.status_code == 503
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["keys"]["ok"] is False
        assert checks["keys"]["reason"] == "KeyStoreError"
        police = As(http, broken, "politie", "agent-1", ["publisher", "participant"], "intake")
        refused = police.post(
            "/api/v1/cases",
            json={
                "kind": "family",
                "proposed_table": "multi_problem",
                "reason": "Overlast",
                "subjects": [{"role_in_case": "parent", "bsn": "123456782"}],
            },
        )
        # no case without its key: the key service is unavailable, nothing is stored
        assert refused.status_code == 503, refused.text
        assert refused.json()["type"].endswith("/keys-unavailable")
        assert refused.headers["content-type"].startswith("application/problem+json")
        text = ready.text + refused.text
    assert rows(broken, "SELECT id FROM cases") == []
    out, err = capfd.readouterr()
    for where in (text, out, err, repr(keys)):
        assert token.pin not in where and wrong_pin not in where


def test_a_second_provider_with_another_pin_is_refused_in_the_same_process(
    token: Token,
) -> None:
    _provider(token.module, token.pin).current_kek_version()  # logged in
    impostor = _provider(token.module, "not-the-pin")
    with pytest.raises(KeyStoreError, match="login failed"):
        impostor.current_kek_version()
    assert "not-the-pin" not in repr(impostor)


def test_configuration_errors_stop_the_hub_at_start_naming_settings_not_values(
    initialised: Settings, token: Token
) -> None:
    with pytest.raises(KeyStoreError, match="VHHUB_PKCS11_MODULE"):
        open_key_provider(initialised.model_copy(update={"pkcs11_module": None}))
    with pytest.raises(KeyStoreError, match="VHHUB_PKCS11_PIN"):
        open_key_provider(initialised.model_copy(update={"pkcs11_pin": None}))
    nowhere = open_key_provider(
        initialised.model_copy(update={"pkcs11_module": initialised.data_dir / "absent.so"})
    )
    with pytest.raises(KeyStoreError, match="cannot be loaded") as caught:
        nowhere.current_kek_version()
    assert token.pin not in str(caught.value)
