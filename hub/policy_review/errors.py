"""The privacy officer's refusals, each with its problem type."""

from __future__ import annotations

from hub.errors import Conflict, Forbidden, NotFound, Refusal, ValidationFailed


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
    """The approver's partner loaded the change: its approval never counts (ADR 0103)."""

    slug = "four-eyes"
    title = "Four-eyes principle"
    default_detail = (
        "Your partner loaded this change; privacy officers of other partners must approve it."
    )


class ApproverNotEligible(Forbidden):
    """The network file says this partner's approval does not count (not a key partner)."""

    slug = "approver-not-eligible"
    title = "Approver not eligible"
    default_detail = (
        "The network requires approvals by privacy officers of key partners; your partner is "
        "not one."
    )


class StaleDiff(Refusal):
    """The approval quotes a digest that is not the diff against what is active now."""

    status = 409
    slug = "stale-diff"
    title = "Approval not bound to the current diff"
    default_detail = (
        "The digest is not that of the diff against the active version: ask for the diff "
        "again (it may have changed) and approve with its digest."
    )


class ActivationRaced(Conflict):
    """Another change became active in the same instant; nothing of this approval is kept."""

    slug = "activation-raced"
    title = "Activation raced"
    default_detail = "Another change was activated at the same moment; approve again."


class VersionAlreadyLoaded(Refusal):
    status = 409
    slug = "policy-version-exists"
    title = "Policy version already loaded"
    default_detail = "This policy version is already loaded; approve it instead."


class SuiteNotFound(NotFound):
    slug = "policy-test-suite-not-found"
    title = "Protected test suite not found"
    default_detail = "No loaded protected test suite has this hash (or the prefix is ambiguous)."


class SuiteAlreadyLoaded(Refusal):
    status = 409
    slug = "policy-test-suite-exists"
    title = "Protected test suite already loaded"
    default_detail = "This protected test suite is already loaded; approve it instead."


class ShippedPolicyFails(RuntimeError):
    """`vhhub init` will not make a policy whose own tests fail the active one."""


class InvalidSimulation(ValidationFailed):
    slug = "invalid-simulation"
    title = "Invalid simulation"
