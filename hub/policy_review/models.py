"""Policy versions and their four-eyes approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, text
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


class PolicyApproval(Base):
    """One privacy officer's approval of one version; the key makes a repeat count once."""

    __tablename__ = "policy_approvals"

    version: Mapped[str] = mapped_column(
        ForeignKey("policy_versions.version", ondelete="CASCADE"), primary_key=True
    )
    approver_partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    approver_user: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
