"""The privacy officer's refusals, each with its problem type."""

from __future__ import annotations

from hub.errors import Forbidden, NotFound, Refusal, ValidationFailed


class PolicyVersionNotFound(NotFound):
    slug = "policy-version-not-found"
    title = "Policy version not found"
    default_detail = "No loaded policy version has this hash (or this prefix is ambiguous)."


class ApprovalRefused(Refusal):
    """The version cannot be approved in its current state; the refusal is logged."""

    status = 409
    slug = "approval-refused"
    title = "Approval refused"
    default_detail = "This policy version cannot be approved."


class FourEyesRefused(Forbidden):
    slug = "four-eyes"
    title = "Four-eyes principle"
    default_detail = "You loaded this policy version; two other privacy officers must approve it."


class VersionAlreadyLoaded(Refusal):
    status = 409
    slug = "policy-version-exists"
    title = "Policy version already loaded"
    default_detail = "This policy version is already loaded; approve it instead."


class ShippedPolicyFails(RuntimeError):
    """`vhhub init` will not make a policy whose own tests fail the active one."""


class InvalidSimulation(ValidationFailed):
    slug = "invalid-simulation"
    title = "Invalid simulation"
