"""Policy versions, the protected test suite, their approvals, and the diffs approvers saw."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow
from hub.vocabulary import PolicyVersionStatus

#: The only status value that may appear at most once (enforced by a partial unique index).
ACTIVE: Final = PolicyVersionStatus.ACTIVE
INACTIVE: Final = PolicyVersionStatus.INACTIVE
RETIRED: Final = PolicyVersionStatus.RETIRED


class PolicyVersion(Base):
    """A loaded policy bundle, identified by its SHA-256 version hash.

    The bundle bytes live in the database so every replica activates the very same files.
    At most one row is active: a partial unique index makes a second active row impossible
    even when two activations race on two replicas (ADR 0103).
    """

    __tablename__ = "policy_versions"
    __table_args__ = (
        Index(
            "uq_policy_versions_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: inactive | active | retired
    status: Mapped[str] = mapped_column(String(16), index=True)
    tests_passed: Mapped[bool | None] = mapped_column()
    #: {"total": n, "failed": [qualified test names]} of the policy's own _test.rego suite
    test_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: shipped (registered by `vhhub init`) | cli (`vhhub policy load`) | upload (API)
    origin: Mapped[str | None] = mapped_column(String(16))
    loaded_by_partner: Mapped[str | None] = mapped_column(String(64))
    loaded_by_user: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the network's checks at load (protected suite, coverage against the active version);
    #: shown in the list, and run again on the stored bytes at every approval
    checks: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PolicyApproval(Base):
    """One privacy officer's approval of one version, bound to the diff they were shown.

    An approval counts only while `base_version` is still the active version: the diff the
    approver saw was against it. Counting is per partner (officers of one partner are one
    vote), and the loader's partner never counts (hub.policy_review.governance).
    """

    __tablename__ = "policy_approvals"

    version: Mapped[str] = mapped_column(
        ForeignKey("policy_versions.version", ondelete="CASCADE"), primary_key=True
    )
    approver_partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    approver_user: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the version active when the approval was given (None: before migration 0005)
    base_version: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the diff (base_version -> version) the approver was shown
    diff_digest: Mapped[str | None] = mapped_column(String(64))


class PolicyDiffDigest(Base):
    """The digest of a full diff the hub showed someone: what an approval must quote.

    A diff costs ~20 s to compute; storing its digest lets any replica check an approval
    without computing it again. Content-addressed versions make the digest of one pair (and
    one grid) final.
    """

    __tablename__ = "policy_diff_digests"
    __table_args__ = (Index("ix_policy_diff_digests_pair", "old_version", "new_version"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    old_version: Mapped[str] = mapped_column(String(64))
    new_version: Mapped[str] = mapped_column(String(64))
    exhaustive: Mapped[bool] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: how many decisions the diff changes (the history of policy changes says it; migration
    #: 0014: None for diffs shown before)
    change_count: Mapped[int | None] = mapped_column(Integer)


class ProtectedTestSuite(Base):
    """A version of the network's protected policy tests (the `_test.rego` files every new
    policy version must carry unchanged and pass), identified by SHA-256 over its files.

    At most one row is active; a change is loaded inactive and activated by the quorum,
    like a policy version (ADR 0103).
    """

    __tablename__ = "policy_test_suites"
    __table_args__ = (
        Index(
            "uq_policy_test_suites_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    suite: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    bundle: Mapped[bytes] = mapped_column(LargeBinary)
    #: inactive | active | retired
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: shipped (first start) | cli | upload
    origin: Mapped[str] = mapped_column(String(16))
    loaded_by_partner: Mapped[str | None] = mapped_column(String(64))
    loaded_by_user: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the suite run against the active policy version at load
    checks: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ProtectedSuiteApproval(Base):
    """One privacy officer's approval of a protected-suite change, bound to the suite diff
    (base_suite -> suite) they were shown."""

    __tablename__ = "policy_test_suite_approvals"

    suite: Mapped[str] = mapped_column(
        ForeignKey("policy_test_suites.suite", ondelete="CASCADE"), primary_key=True
    )
    approver_partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    approver_user: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    base_suite: Mapped[str] = mapped_column(String(64))
    diff_digest: Mapped[str] = mapped_column(String(64))
