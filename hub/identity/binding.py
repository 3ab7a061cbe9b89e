"""Certificate-bound access tokens (RFC 8705, section 3) under mutual TLS.

A partner whose network entry says ``certificate_bound = true`` must present its organisation
certificate on the TLS connection, and its token must carry the certificate's SHA-256
thumbprint as ``cnf: {"x5t#S256": <base64url of SHA-256 over the DER>}``. A token that carries
a ``cnf`` is checked whatever the partner's entry says: it is only good with its certificate.
A stolen bound token is useless without the certificate's private key, which stays with the
partner's application.

The certificate is read from the ASGI ``tls`` extension (``client_cert_chain``, PEM), which
the server fills from the TLS connection (hub.serving); no header can supply it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
from collections.abc import Mapping
from typing import Any

#: The confirmation method of RFC 8705 section 3.1
X5T_S256 = "x5t#S256"
#: Why a token was refused for its binding (logged as `token:<code>`, never shown the client):
#: a malformed `cnf`, a partner that must bind sent an unbound token, no client certificate on
#: the connection, or another certificate than the token's.
BINDING_REASONS: frozenset[str] = frozenset(
    {"bad_cnf", "cnf_missing", "cnf_no_certificate", "cnf_mismatch"}
)


def thumbprint(der: bytes) -> str:
    """``x5t#S256`` of a DER certificate: unpadded base64url of its SHA-256."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def client_certificate(scope: Mapping[str, Any]) -> bytes | None:
    """The DER of the certificate the client presented on this connection, if any."""
    extensions = scope.get("extensions") or {}
    tls = extensions.get("tls") if isinstance(extensions, Mapping) else None
    chain = tls.get("client_cert_chain") if isinstance(tls, Mapping) else None
    if not isinstance(chain, list | tuple) or not chain or not isinstance(chain[0], str):
        return None
    try:
        return ssl.PEM_cert_to_DER_cert(chain[0])
    except ValueError:
        return None


def binding_refusal(
    payload: Mapping[str, Any], certificate: bytes | None, *, required: bool
) -> str | None:
    """None when the token may be used on this connection, else the reason code.

    `payload` is the verified token's claims; `required` whether the issuing partner must
    bind its tokens."""
    if "cnf" not in payload:
        return "cnf_missing" if required else None
    cnf = payload["cnf"]
    if not isinstance(cnf, dict) or set(cnf) != {X5T_S256}:
        return "bad_cnf"
    expected = cnf[X5T_S256]
    if not isinstance(expected, str) or len(expected) != 43:
        return "bad_cnf"
    if certificate is None:
        return "cnf_no_certificate"
    presented = thumbprint(certificate).encode("ascii")
    if not hmac.compare_digest(expected.encode("ascii", "replace"), presented):
        return "cnf_mismatch"
    return None
