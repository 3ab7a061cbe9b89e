"""`vhhub init`: the shipped policy directory becomes the active version if none is, and its
tests the network's protected test suite if there is none (ADR 0103)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.audit.entry import Action
from hub.audit.log import ANONYMOUS, AccessLog
from hub.audit.models import LogEntry
from hub.db.base import utcnow
from hub.db.session import Database
from hub.policy_review.errors import ShippedPolicyFails
from hub.policy_review.governance import ProtectedSuite, run_suite
from hub.policy_review.models import ACTIVE, ProtectedTestSuite
from hub.policy_review.recording import INIT_REQUEST, log_policy_act, new_version_row, tests_text
from hub.policy_review.store import (
    PolicyVersionRepository,
    ProtectedSuiteRepository,
    file_manifest,
    files_of_bundle,
    pack_files,
)
from hub.policy_review.versions import (
    files_from_stored_bundle,
    prepare_candidate,
)
from hub.rego.bundle import PolicyBundle, load_bundle
from hub.rego.errors import PolicyError
from hub.settings import Settings


def register_shipped_policy(
    settings: Settings, db: Database, access_log: AccessLog
) -> tuple[bool, str]:
    """`vhhub init`: make the shipped policy directory the active version if none is, and
    its tests the protected suite if there is none.

    Returns whether a version was registered, and the line for init's report. Raises
    ShippedPolicyFails when the directory's own tests fail: init does not start a hub on a
    policy that fails its tests.
    """
    bundle = load_bundle(settings.policy_dir)
    created, line = _register_version(bundle, db, access_log)
    return created, f"{line}; {register_protected_suite(bundle, db, access_log)}"


def register_protected_suite(bundle: PolicyBundle, db: Database, access_log: AccessLog) -> str:
    """The directory's `_test.rego` files become the protected suite when there is none (the
    first start, or a hub from before protected suites); the line for init's report."""
    suite = ProtectedSuite.of(bundle.test_modules)
    with db.transaction() as session:
        active = ProtectedSuiteRepository(session).get_active()
        if active is not None:
            if active.suite == suite.suite:
                return f"protected tests {active.suite[:12]} (active)"
            return (
                f"protected tests {active.suite[:12]} (active); the policy directory's tests are "
                f"{suite.suite[:12]}: propose them with `vhhub policy suite load`"
            )
        version = PolicyVersionRepository(session).get_active()
        stored = (version.version, version.bundle) if version is not None else None
    if not suite.files:
        raise ShippedPolicyFails("the policy directory has no _test.rego files to protect")
    note = ""
    if stored is not None and stored[0] != bundle.version and stored[1]:
        try:
            run = run_suite(stored[0], files_from_stored_bundle(stored[0], stored[1]), suite)
        except PolicyError:
            run = None
        if run is None or not run.passed:
            note = (
                "; the active version does not pass them: no new version can be approved "
                "until a suite change is"
            )
    try:
        with db.transaction() as session:
            repo = ProtectedSuiteRepository(session)
            if repo.get_active(for_update=True) is not None:
                return "protected tests (registered meanwhile)"
            in_use = session.scalar(select(LogEntry.seq).limit(1)) is not None
            row = repo.get(suite.suite, for_update=True)
            if row is None:
                row = ProtectedTestSuite(
                    suite=suite.suite,
                    files=file_manifest(suite.files),
                    bundle=pack_files(suite.files),
                    status=ACTIVE,
                    origin="shipped",
                    loaded_at=utcnow(),
                )
                repo.add(row)
            else:
                repo.clear_approvals(row.suite)
            row.status, row.activated_at, row.retired_at = ACTIVE, utcnow(), None
            session.flush()
            if in_use:
                for action, reason in (
                    (Action.POLICY_LOAD, "protected test suite loaded by vhhub init"),
                    (
                        Action.POLICY_ACTIVATE,
                        "no protected test suite was active: vhhub init activated the "
                        "shipped policy's tests",
                    ),
                ):
                    log_policy_act(
                        access_log,
                        session,
                        ANONYMOUS,
                        INIT_REQUEST,
                        action,
                        object_ids=[suite.suite],
                        reason=reason,
                        policy_version=stored[0] if stored is not None else bundle.version,
                    )
    except IntegrityError:
        return "protected tests (registered by another process meanwhile)"
    return f"protected tests {suite.suite[:12]} (shipped, active){note}"


def _register_version(
    bundle: PolicyBundle, db: Database, access_log: AccessLog
) -> tuple[bool, str]:
    with db.transaction() as session:
        active = PolicyVersionRepository(session).get_active()
        if active is not None:
            if active.version == bundle.version:
                return False, f"policy version {active.version[:12]} (active)"
            return False, (
                f"policy version {active.version[:12]} (active); the policy directory is "
                f"{bundle.version[:12]}: propose it with `vhhub policy load`"
            )
    candidate = prepare_candidate(files_of_bundle(bundle))
    if not candidate.tests.passed:
        raise ShippedPolicyFails(
            f"the policy directory's own tests fail ({len(candidate.tests.failed)} of "
            f"{candidate.tests.total}); run `vhhub policy test`"
        )
    try:
        with db.transaction() as session:
            repo = PolicyVersionRepository(session)
            if repo.get_active(for_update=True) is not None:
                return False, "the active policy version (registered meanwhile)"
            # On a new hub (an empty log) the first version is part of creating the hub, like
            # its keys and registry; in a hub already in use, registering it is an act.
            in_use = session.scalar(select(LogEntry.seq).limit(1)) is not None
            row = repo.get(candidate.version, for_update=True)
            if row is None:
                row = new_version_row(candidate, origin="shipped", loader=ANONYMOUS)
                repo.add(row)
            else:
                repo.clear_approvals(row.version)
            row.status, row.activated_at, row.retired_at = ACTIVE, utcnow(), None
            session.flush()
            if in_use:
                for action, reason in (
                    (
                        Action.POLICY_LOAD,
                        f"shipped policy loaded by vhhub init; {tests_text(candidate)}",
                    ),
                    (
                        Action.POLICY_ACTIVATE,
                        "no version was active: vhhub init activated the shipped policy",
                    ),
                ):
                    log_policy_act(
                        access_log,
                        session,
                        ANONYMOUS,
                        INIT_REQUEST,
                        action,
                        object_ids=[candidate.version],
                        reason=reason,
                        policy_version=candidate.version,
                    )
    except IntegrityError:
        # another process ran init at the same moment and registered it first
        return False, "the active policy version (registered by another process meanwhile)"
    return True, f"policy version {candidate.version[:12]} (shipped, active)"
