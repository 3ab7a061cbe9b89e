"""Policy versions and their four-eyes approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class PolicyVersion(Base):
    """A loaded policy bundle, identified by its SHA-256 version hash.

    The bundle bytes live in the database so every replica activates the very same files.
    """

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: inactive | active | retired
    status: Mapped[str] = mapped_column(String(16), index=True)
    tests_passed: Mapped[bool | None] = mapped_column()
    loaded_by_partner: Mapped[str | None] = mapped_column(String(64))
    loaded_by_user: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PolicyApproval(Base):
    __tablename__ = "policy_approvals"

    version: Mapped[str] = mapped_column(
        ForeignKey("policy_versions.version", ondelete="CASCADE"), primary_key=True
    )
    approver_partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    approver_user: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
