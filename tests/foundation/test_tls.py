"""`vhhub serve --tls-cert --tls-key [--tls-client-ca]`: HTTPS, mutual TLS and tokens bound to
the partner's organisation certificate (RFC 8705, ADR 0017).

The tests make their own PKI with `cryptography` (a CA, the hub's server certificate, two
partner application certificates, and a certificate of a CA the hub does not trust), start a
real `vhhub serve`, and talk to it over real TLS with httpx.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from typer.testing import CliRunner

from hub.audit.models import LogEntry
from hub.identity.binding import BINDING_REASONS, X5T_S256, binding_refusal, thumbprint
from hub.settings import Settings
from hub.setup import initialise
from tests.foundation.test_workers import ServedHub, hub_env, rows, serve
from tests.support import token_for

ME = "/api/v1/me"


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path
    der: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vhhub test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(
    directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Issued:
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Issued(cert_path, key_path, cert.public_bytes(serialization.Encoding.DER))


class Authority:
    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.name = _name(name)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.issued = _write(directory, name, self.cert, self.key)

    def issue(self, name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return _write(self.directory, name, builder.sign(self.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    ca: Issued
    server: Issued
    politie_a: Issued
    politie_b: Issued
    stranger: Issued


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    directory = tmp_path / "pki"
    directory.mkdir()
    ca = Authority(directory, "vhhub-test-ca")
    other = Authority(directory, "not-trusted-ca")
    return Pki(
        ca=ca.issued,
        server=ca.issue("hub", server=True),
        politie_a=ca.issue("politie-app-a", server=False),
        politie_b=ca.issue("politie-app-b", server=False),
        stranger=other.issue("stranger-app", server=False),
    )


def client(pki: Pki, cert: Issued | None = None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    if cert is not None:
        context.load_cert_chain(str(cert.cert), str(cert.key))
    return httpx.Client(verify=context, timeout=30)


def _tls_ready(pki: Pki) -> object:
    def ready(hub: ServedHub) -> bool:
        with client(pki, pki.politie_a) as http:
            return http.get(f"{hub.base_url}/api/v1/ready").status_code == 200

    return ready


def headers(token: str, purpose: str = "intake") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Purpose": purpose}


@pytest.fixture
def bound_network(settings: Settings, tmp_path: Path) -> Settings:
    """The demo network with the police's tokens bound to its certificate, initialised."""
    text = settings.network_file.read_text()
    marker = 'id = "politie"\n'
    assert marker in text
    network = tmp_path / "network.toml"
    network.write_text(text.replace(marker, marker + "certificate_bound = true\n", 1))
    bound = settings.model_copy(update={"network_file": network})
    initialise(bound)
    return bound


@pytest.fixture
def tls_hub(initialised: Settings, tmp_path: Path, pki: Pki) -> Iterator[ServedHub]:
    hub = serve(
        initialised,
        tmp_path,
        "--tls-cert",
        str(pki.server.cert),
        "--tls-key",
        str(pki.server.key),
        scheme="https",
        ready=_tls_ready(pki),
    )
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def mtls_hub(bound_network: Settings, tmp_path: Path, pki: Pki) -> Iterator[ServedHub]:
    # the client CA from the environment, as a container would set it
    env = hub_env(bound_network, VHHUB_TLS_CLIENT_CA=str(pki.ca.cert))
    hub = serve(
        bound_network,
        tmp_path,
        "--tls-cert",
        str(pki.server.cert),
        "--tls-key",
        str(pki.server.key),
        env=env,
        scheme="https",
        ready=_tls_ready(pki),
    )
    try:
        yield hub
    finally:
        hub.stop()


def refusal_reasons(settings: Settings) -> list[str]:
    return [
        r[0]
        for r in rows(
            settings,
            select(LogEntry.reason).where(LogEntry.action == "auth.failure").order_by(LogEntry.seq),
        )
    ]


def test_the_hub_serves_https_with_its_certificate(
    initialised: Settings, tls_hub: ServedHub, pki: Pki
) -> None:
    with client(pki) as http:
        ready = http.get(f"{tls_hub.base_url}/api/v1/ready")
        assert ready.status_code == 200
        token = token_for(initialised, "politie", "agent-1", ["participant"])
        me = http.get(f"{tls_hub.base_url}{ME}", headers=headers(token))
        assert me.status_code == 200 and me.json()["partner"] == "politie"
    # a client that does not trust the hub's CA does not get through the handshake
    with httpx.Client(timeout=10) as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.get(f"{tls_hub.base_url}/api/v1/ready")
    # plain HTTP on the TLS port is not served
    with httpx.Client(timeout=10) as plain, pytest.raises(httpx.TransportError):
        plain.get(f"http://127.0.0.1:{tls_hub.port}/api/v1/ready")


def test_mutual_tls_requires_a_certificate_of_the_partner_ca(
    bound_network: Settings, mtls_hub: ServedHub, pki: Pki
) -> None:
    for cert in (None, pki.stranger):
        with client(pki, cert) as http, pytest.raises(httpx.TransportError):
            http.get(f"{mtls_hub.base_url}/api/v1/ready")
    with client(pki, pki.politie_a) as http:
        assert http.get(f"{mtls_hub.base_url}/api/v1/ready").status_code == 200


def test_a_certificate_bound_token_is_good_only_with_its_certificate(
    bound_network: Settings, mtls_hub: ServedHub, pki: Pki
) -> None:
    url = f"{mtls_hub.base_url}{ME}"
    bound_to_a = token_for(
        bound_network,
        "politie",
        "agent-1",
        ["participant"],
        certificate_thumbprint=thumbprint(pki.politie_a.der),
    )
    with client(pki, pki.politie_b) as as_b, client(pki, pki.politie_a) as as_a:
        wrong = as_b.get(url, headers=headers(bound_to_a))
        assert wrong.status_code == 401
        # the same answer as any refused token: nothing says why
        generic = as_b.get(url, headers=headers("not-a-token"))
        same = ("type", "title", "status", "detail")
        assert {k: wrong.json().get(k) for k in same} == {k: generic.json().get(k) for k in same}
        assert wrong.headers["WWW-Authenticate"] == generic.headers["WWW-Authenticate"]
        # refused before its jti was used: the holder of certificate A can still use it
        right = as_a.get(url, headers=headers(bound_to_a))
        assert right.status_code == 200 and right.json()["partner"] == "politie"
        # and only once
        assert as_a.get(url, headers=headers(bound_to_a)).status_code == 401

        # the police must bind: an unbound police token is refused even with its certificate
        unbound = token_for(bound_network, "politie", "agent-1", ["participant"])
        assert as_a.get(url, headers=headers(unbound)).status_code == 401
        # a partner that need not bind gets through with an unbound token
        ggz = token_for(bound_network, "ggz", "hulpverlener-1", ["participant"])
        assert as_a.get(url, headers=headers(ggz)).status_code == 200
        # but a token that carries a binding is held to it, whoever issued it
        ggz_bound = token_for(
            bound_network,
            "ggz",
            "hulpverlener-1",
            ["participant"],
            certificate_thumbprint=thumbprint(pki.politie_b.der),
        )
        assert as_a.get(url, headers=headers(ggz_bound)).status_code == 401

    reasons = refusal_reasons(bound_network)
    assert "token:cnf_mismatch" in reasons
    assert "token:cnf_missing" in reasons
    assert reasons.count("token:cnf_mismatch") == 2
    assert "token:replayed" in reasons


def test_a_bound_token_over_plain_http_is_refused(initialised: Settings, tmp_path: Path) -> None:
    """Without TLS there is no certificate: a bound token cannot be used (fails closed)."""
    hub = serve(initialised, tmp_path)
    try:
        token = token_for(
            initialised, "politie", "agent-1", ["participant"], certificate_thumbprint="A" * 43
        )
        response = httpx.get(f"{hub.base_url}{ME}", headers=headers(token), timeout=30)
        assert response.status_code == 401
    finally:
        hub.stop()
    assert "token:cnf_no_certificate" in refusal_reasons(initialised)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-key", "key.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-client-ca", "ca.pem"], "--tls-client-ca needs --tls-cert and --tls-key"),
        (["--tls-cert", "missing.pem", "--tls-key", "missing.key"], "--tls-cert: no such file"),
    ],
)
def test_serve_refuses_an_incomplete_tls_configuration(
    initialised: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    from hub.cli import app

    monkeypatch.chdir(tmp_path)
    for name in ("VHHUB_TLS_CERT", "VHHUB_TLS_KEY", "VHHUB_TLS_CLIENT_CA"):
        monkeypatch.delenv(name, raising=False)
    # the CLI's --data-dir writes VHHUB_DATA_DIR: monkeypatch puts it back afterwards
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    result = CliRunner().invoke(app, ["--data-dir", str(initialised.data_dir), "serve", *args])
    assert result.exit_code == 2
    assert f"vhhub: {message}" in result.output


def test_a_key_that_does_not_fit_the_certificate_is_refused_without_its_content(
    initialised: Settings, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.cli import app

    # the CLI's --data-dir writes VHHUB_DATA_DIR: monkeypatch puts it back afterwards
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    args = ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.politie_a.key)]
    result = CliRunner().invoke(app, ["--data-dir", str(initialised.data_dir), "serve", *args])
    assert result.exit_code == 2
    assert "cannot be loaded" in result.output
    assert "PRIVATE KEY" not in result.output
    assert pki.politie_a.key.read_text().splitlines()[1] not in result.output


def test_the_binding_check_refuses_every_malformed_confirmation(pki: Pki) -> None:
    """RFC 8705 section 3.1: the thumbprint is base64url (no padding) of SHA-256 over the DER;
    anything else in `cnf` is refused, and every refusal has a registered code."""
    der = pki.politie_a.der
    good = {"cnf": {X5T_S256: thumbprint(der)}}
    assert len(thumbprint(der)) == 43 and "=" not in thumbprint(der)
    assert binding_refusal(good, der, required=True) is None
    assert binding_refusal({}, der, required=False) is None
    seen = {
        binding_refusal({"cnf": "x"}, der, required=False),
        binding_refusal({"cnf": {}}, der, required=False),
        binding_refusal({"cnf": {X5T_S256: 5}}, der, required=False),
        binding_refusal({"cnf": {X5T_S256: thumbprint(der) + "A"}}, der, required=False),
        binding_refusal({"cnf": {X5T_S256: thumbprint(der), "jkt": "x"}}, der, required=False),
        binding_refusal({"cnf": {"x5t": thumbprint(der)}}, der, required=False),
    }
    assert seen == {"bad_cnf"}
    assert binding_refusal({}, der, required=True) == "cnf_missing"
    assert binding_refusal(good, None, required=False) == "cnf_no_certificate"
    assert binding_refusal(good, pki.politie_b.der, required=False) == "cnf_mismatch"
    assert {"bad_cnf", "cnf_missing", "cnf_no_certificate", "cnf_mismatch"} == BINDING_REASONS


def test_vhhub_token_binds_a_dev_token_to_a_certificate(
    initialised: Settings, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import json

    from hub.cli import app

    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    args = ["token", "--partner", "politie", "--user", "agent-1", "--role", "participant"]
    result = CliRunner().invoke(app, [*args, "--cert", str(pki.politie_a.cert)])
    assert result.exit_code == 0, result.output
    payload = result.stdout.strip().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["cnf"] == {X5T_S256: thumbprint(pki.politie_a.der)}
    # a file without a certificate (here: the key) is refused, without its content
    refused = CliRunner().invoke(app, [*args, "--cert", str(pki.politie_a.key)])
    assert refused.exit_code == 2
    assert "no certificate in the file" in refused.output
    assert "PRIVATE KEY" not in refused.output
