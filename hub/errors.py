"""One error root, translated once into RFC 9457 problem+json.

Every problem has a stable ``type`` URI. Details are written by us, never built from submitted
values, so an error answer cannot echo personal data back (or into a log).
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://vhhub.nl/problems/"
PROBLEM_JSON = "application/problem+json"


class HubError(Exception):
    """The root of every error the hub answers on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    default_detail: ClassVar[str] = "The hub could not complete the request."
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        return problem(
            self.status, self.slug, self.title, self.detail, instance=instance, **self.extra
        )


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


class Refusal(HubError):
    """A refusal whose access-log entry must survive: the unit of work commits before it
    answers (ADR 0003). By convention a service refuses before it changes anything, so the
    log entry is all that commits."""


class BadRequest(HubError):
    status = 400
    slug = "bad-request"
    title = "Bad request"
    default_detail = "The request is malformed."


class InvalidPurpose(HubError):
    status = 400
    slug = "invalid-purpose"
    title = "Missing or unknown purpose"
    default_detail = "State the purpose of the request in the Purpose header."


class Unauthenticated(HubError):
    """Every authentication failure, whatever the reason: no oracle for an attacker."""

    status = 401
    slug = "unauthenticated"
    title = "Unauthenticated"
    default_detail = "A valid bearer token is required."
    #: RFC 6750 §3.1: a token was sent and refused. A request that sent no bearer token at all
    #: gets the challenge without an error code (hub.identity.middleware); the precise reason
    #: is in the access log only.
    headers: ClassVar[dict[str, str]] = {
        "WWW-Authenticate": 'Bearer realm="vhhub", error="invalid_token"'
    }


class Forbidden(Refusal):
    status = 403
    slug = "forbidden"
    title = "Forbidden"
    default_detail = "The policy does not allow this action for this purpose."


class NotFound(Refusal):
    status = 404
    slug = "not-found"
    title = "Not found"
    default_detail = "No such resource, or it is not visible to you."


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = "Conflict"
    default_detail = "The request conflicts with the current state."


class Gone(HubError):
    status = 410
    slug = "gone"
    title = "Gone"
    default_detail = "The resource no longer exists."


class PayloadTooLarge(HubError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"
    default_detail = "The request body exceeds the hub's limit."


class ValidationFailed(HubError):
    """Invalid input: 400 with every error found in `errors` (NL API Design Rules
    `/core/error-handling/invalid-input` and `/core/error-handling/all-errors`)."""

    status = 400
    slug = "validation-failed"
    title = "Validation failed"
    default_detail = "The request does not match the expected structure."


class LoneSurrogate(ValidationFailed):
    """A JSON body escapes half of a UTF-16 surrogate pair (``\\ud800``): no character, no
    valid UTF-8, so it is refused before anything reads the body."""

    default_detail = (
        "The body holds a \\u escape of a lone UTF-16 surrogate (D800-DFFF), which is no"
        " character; send valid Unicode text."
    )

    def __init__(self) -> None:
        super().__init__(
            extra={"errors": [{"pointer": "body:", "problem": "holds a lone surrogate escape"}]}
        )


class PolicyUnavailable(Refusal):
    """The policy engine failed: fail closed, disclose nothing."""

    status = 503
    slug = "policy-error"
    title = "Policy decision unavailable"
    default_detail = "The policy could not decide; nothing was disclosed."


class ServiceUnavailable(HubError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"
    default_detail = "The hub is not ready."


class KeysUnavailable(ServiceUnavailable):
    """The key store (key files, the environment, an HSM token) cannot be used: fail closed."""

    slug = "keys-unavailable"
    title = "Keys unavailable"
    default_detail = "The key service is not available; nothing was disclosed or stored."
