"""Policy bundles as bytes, and the policy versions in the database.

Why bundles are re-packed: an upload is a tar.gz a privacy officer made by hand; what the
hub stores is a canonical tar.gz of exactly the files the version hash covers (``*.rego`` and
``data/**/*.json``, sorted, mtime 0), so the stored bytes of one version are the same on every
replica and for every uploader, and nothing outside the hash (a README, a stray script) is
ever kept or served.

Why unpacking is this strict: an upload is untrusted input. Only regular files with plain
relative paths are read, sizes and counts are capped before any content is read, and no
error message repeats a byte of content (a module that does not compile might hold anything).

Why the active version is read through a separate connection (`ActiveVersionProbe`): every
request checks it before its own unit of work begins. On SQLite the hub's sessions begin with
``BEGIN IMMEDIATE`` (hub.db.session); a plain autocommit read does not take the write lock.
On PostgreSQL the probe's connection is in autocommit too: one SELECT, one round trip.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from hub.db.session import is_sqlite
from hub.errors import PayloadTooLarge, Refusal
from hub.policy_review.models import (
    ACTIVE,
    PolicyApproval,
    PolicyDiffDigest,
    PolicyVersion,
    ProtectedSuiteApproval,
    ProtectedTestSuite,
)
from hub.rego.bundle import TEST_SUFFIX, PolicyBundle, PolicyFile, compute_version
from hub.rego.serving import SourceUnavailable

#: A compressed bundle larger than this is refused with 413 (the shipped one is ~25 KiB).
MAX_BUNDLE_BYTES: Final = 2 * 1024 * 1024
#: Caps on what a bundle unpacks to, checked on the tar headers before content is read.
MAX_UNPACKED_BYTES: Final = 8 * 1024 * 1024
MAX_FILE_BYTES: Final = 1024 * 1024
MAX_MEMBERS: Final = 512

_PATH_RE: Final = re.compile(
    r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}){0,7}\Z"
)
_VERSION_RE: Final = re.compile(r"\A[0-9a-f]{8,64}\Z")
#: pg_advisory_xact_lock key of every approval and activation (policy versions and the
#: protected suite): the acts that decide what becomes active happen one at a time.
GOVERNANCE_LOCK: Final = 0x76686875_62303130  # "vhhub010"


def governance_lock(session: Session) -> None:
    """Serialise approvals and activations across hub processes for this transaction.

    SQLite needs nothing: its write transactions begin IMMEDIATE and are serial already.
    On PostgreSQL row locks alone would let two approvals of two versions, or of a version
    and a suite change, check the active state before either commits.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GOVERNANCE_LOCK})


class BundleRefused(Refusal):
    """The upload is not a policy bundle the hub can use. Never says what the content was."""

    status = 422
    slug = "invalid-policy-bundle"
    title = "Invalid policy bundle"
    default_detail = (
        "The upload is not a usable policy bundle: a tar.gz of a policy directory with "
        "*.rego modules and data/**/*.json files that loads and compiles."
    )


class BundleTooLarge(PayloadTooLarge, Refusal):
    """Too large before or after decompression; refused before the content is read."""

    slug = "policy-bundle-too-large"
    title = "Policy bundle too large"
    default_detail = (
        f"A policy bundle may be at most {MAX_BUNDLE_BYTES // 1024} KiB compressed, "
        f"{MAX_UNPACKED_BYTES // 1024} KiB unpacked, {MAX_MEMBERS} files and "
        f"{MAX_FILE_BYTES // 1024} KiB per file."
    )


def is_versioned_path(path: str) -> bool:
    """True for the files a version hash covers: modules anywhere, JSON under data/."""
    return path.endswith(".rego") or (path.startswith("data/") and path.endswith(".json"))


def files_of_bundle(bundle: PolicyBundle) -> tuple[PolicyFile, ...]:
    """The versioned files of a loaded policy directory, sorted by path."""
    return tuple(sorted(bundle.modules + bundle.data_files, key=lambda f: f.path))


def pack_files(files: Sequence[PolicyFile]) -> bytes:
    """A canonical tar.gz of these files: sorted, mode 0644, mtime 0, no owner names."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for item in sorted(files, key=lambda f: f.path):
            payload = item.text.encode("utf-8")
            info = tarfile.TarInfo(item.path)
            info.size = len(payload)
            info.mtime = 0
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(payload))
    return raw.getvalue()


def _strip_common_root(paths: list[str]) -> str:
    """The single top-level directory all paths share (``policies/``), or ``""``.

    A bundle made with ``tar czf b.tgz policies`` and one made inside the directory with
    ``tar czf b.tgz -C policies .`` are the same policy.
    """
    if not paths or any("/" not in p for p in paths):
        return ""
    first = {p.split("/", 1)[0] for p in paths}
    if len(first) != 1 or first == {"data"}:
        return ""
    return first.pop() + "/"


def read_bundle_bytes(data: bytes, *, strip_root: bool = True) -> tuple[PolicyFile, ...]:
    """The versioned files of an uploaded tar.gz; BundleRefused / BundleTooLarge otherwise.

    `strip_root=False` for the hub's own canonical bundles: their paths are the files' paths
    already, even when every file happens to sit in one directory.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleTooLarge()
    members: list[tuple[str, bytes]] = []
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_MEMBERS:
                    raise BundleTooLarge()
                name = member.name.removeprefix("./")
                if member.isdir() or name in ("", "."):
                    continue
                if not member.isfile():
                    raise BundleRefused(
                        "A policy bundle may hold only regular files and directories "
                        "(no links or devices)."
                    )
                if not _PATH_RE.match(name) or ".." in name.split("/"):
                    raise BundleRefused(
                        "A file in the bundle has a path the hub does not accept "
                        "(plain relative names of letters, digits, '_', '.', '-')."
                    )
                if member.size > MAX_FILE_BYTES:
                    raise BundleTooLarge()
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise BundleTooLarge()
                handle = archive.extractfile(member)
                content = handle.read(MAX_FILE_BYTES + 1) if handle is not None else b""
                if len(content) != member.size:
                    raise BundleRefused("A file in the bundle is truncated.")
                members.append((name, content))
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile, ValueError) as exc:
        if isinstance(exc, (BundleRefused, BundleTooLarge)):
            raise
        raise BundleRefused("The upload is not a readable tar.gz archive.") from None
    root = _strip_common_root([name for name, _ in members]) if strip_root else ""
    files: dict[str, PolicyFile] = {}
    for name, content in members:
        path = name.removeprefix(root)
        if not is_versioned_path(path):
            continue  # READMEs and the like are not part of a version
        if path in files:
            raise BundleRefused("The bundle holds the same file twice.")
        try:
            files[path] = PolicyFile(path, content.decode("utf-8"))
        except UnicodeDecodeError:
            raise BundleRefused("A policy file in the bundle is not UTF-8 text.") from None
    if not any(f.path.endswith(".rego") for f in files.values()):
        raise BundleRefused("The bundle holds no .rego modules.")
    return tuple(sorted(files.values(), key=lambda f: f.path))


def write_files(files: Sequence[PolicyFile], root: Path) -> None:
    """Lay the files out as a policy directory under `root` (which must exist)."""
    for item in files:
        target = root.joinpath(*item.path.split("/"))
        if root.resolve() not in target.resolve().parents:
            raise BundleRefused("A file in the bundle would land outside the policy directory.")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.write_text(item.text, encoding="utf-8")


@contextmanager
def unpacked(files: Sequence[PolicyFile]) -> Iterator[Path]:
    """A private temporary policy directory holding `files`, removed afterwards.

    The engines read a directory once, into memory, when they are built; so the directory
    only needs to live while an engine, a test run or an annotation parse is being made.
    """
    with tempfile.TemporaryDirectory(prefix="vhhub-policy-") as name:
        root = Path(name)
        root.chmod(0o700)
        write_files(files, root)
        yield root


def version_of_files(files: Sequence[PolicyFile]) -> str:
    return compute_version(tuple(files))


def file_manifest(files: Sequence[PolicyFile]) -> list[dict[str, Any]]:
    """What the version list shows of each file: path, SHA-256, size, test or not."""
    out: list[dict[str, Any]] = []
    for item in sorted(files, key=lambda f: f.path):
        payload = item.text.encode("utf-8")
        out.append(
            {
                "path": item.path,
                "sha256": hashlib.sha256(payload).hexdigest(),
                "bytes": len(payload),
                "test": item.path.endswith(TEST_SUFFIX),
            }
        )
    return out


def is_version_reference(ref: str) -> bool:
    """A full version hash or an unambiguous-looking prefix of at least 8 hex digits."""
    return bool(_VERSION_RE.match(ref))


class PolicyVersionRepository:
    """The queries on policy versions, named for what they return."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, version: str, *, for_update: bool = False) -> PolicyVersion | None:
        query = select(PolicyVersion).where(PolicyVersion.version == version)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def resolve(self, ref: str, *, for_update: bool = False) -> PolicyVersion | None:
        """The version named by a full hash, a unique prefix (8+ hex digits) or "active"."""
        if ref == ACTIVE:
            return self.get_active(for_update=for_update)
        if not is_version_reference(ref):
            return None
        if len(ref) == 64:
            return self.get(ref, for_update=for_update)
        matches = list(
            self.session.scalars(
                select(PolicyVersion.version).where(PolicyVersion.version.startswith(ref)).limit(2)
            )
        )
        if len(matches) != 1:
            return None
        return self.get(matches[0], for_update=for_update)

    def get_active(self, *, for_update: bool = False) -> PolicyVersion | None:
        query = select(PolicyVersion).where(PolicyVersion.status == ACTIVE)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def list_newest_first(self) -> list[PolicyVersion]:
        return list(
            self.session.scalars(
                select(PolicyVersion).order_by(
                    PolicyVersion.loaded_at.desc(), PolicyVersion.version
                )
            )
        )

    def approvals_of(self, version: str) -> list[PolicyApproval]:
        return list(
            self.session.scalars(
                select(PolicyApproval)
                .where(PolicyApproval.version == version)
                .order_by(PolicyApproval.approved_at, PolicyApproval.approver_partner)
            )
        )

    def approvals_by_version(self) -> dict[str, list[PolicyApproval]]:
        out: dict[str, list[PolicyApproval]] = {}
        for approval in self.session.scalars(
            select(PolicyApproval).order_by(PolicyApproval.approved_at)
        ):
            out.setdefault(approval.version, []).append(approval)
        return out

    def add(self, version: PolicyVersion) -> None:
        self.session.add(version)
        self.session.flush()

    def add_approval(self, approval: PolicyApproval) -> None:
        self.session.add(approval)
        self.session.flush()

    def clear_approvals(self, version: str) -> None:
        for approval in self.approvals_of(version):
            self.session.delete(approval)
        self.session.flush()

    def approval_of(self, version: str, partner: str, user: str) -> PolicyApproval | None:
        return self.session.get(PolicyApproval, (version, partner, user))

    # -- digests of the diffs the hub showed -----------------------------------------------

    def record_diff_digest(
        self, digest: str, old: str, new: str, *, exhaustive: bool, changes: int
    ) -> None:
        """Remember that the hub showed this diff and how many decisions it changes
        (idempotent; a race inserts it once)."""
        known = self.session.get(PolicyDiffDigest, digest)
        if known is not None:
            if known.change_count is None:  # shown before migration 0014
                known.change_count = changes
            return
        try:
            with self.session.begin_nested():
                self.session.add(
                    PolicyDiffDigest(
                        digest=digest,
                        old_version=old,
                        new_version=new,
                        exhaustive=exhaustive,
                        change_count=changes,
                    )
                )
        except IntegrityError:
            pass  # another request stored the same digest meanwhile

    def diff_change_count(self, old: str, new: str) -> int | None:
        """How many decisions the full diff `old` -> `new` changes, if the hub showed it."""
        return self.session.scalars(
            select(PolicyDiffDigest.change_count)
            .where(
                PolicyDiffDigest.old_version == old,
                PolicyDiffDigest.new_version == new,
                PolicyDiffDigest.exhaustive.is_(False),
                PolicyDiffDigest.change_count.is_not(None),
            )
            .limit(1)
        ).first()

    def diff_digest(self, digest: str) -> PolicyDiffDigest | None:
        return self.session.get(PolicyDiffDigest, digest)


class ProtectedSuiteRepository:
    """The queries on the protected test suite's versions and their approvals."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, suite: str, *, for_update: bool = False) -> ProtectedTestSuite | None:
        query = select(ProtectedTestSuite).where(ProtectedTestSuite.suite == suite)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def get_active(self, *, for_update: bool = False) -> ProtectedTestSuite | None:
        query = select(ProtectedTestSuite).where(ProtectedTestSuite.status == ACTIVE)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def resolve(self, ref: str, *, for_update: bool = False) -> ProtectedTestSuite | None:
        """A full hash, a unique prefix (8+ hex digits) or "active"."""
        if ref == ACTIVE:
            return self.get_active(for_update=for_update)
        if not is_version_reference(ref):
            return None
        if len(ref) == 64:
            return self.get(ref, for_update=for_update)
        matches = list(
            self.session.scalars(
                select(ProtectedTestSuite.suite)
                .where(ProtectedTestSuite.suite.startswith(ref))
                .limit(2)
            )
        )
        if len(matches) != 1:
            return None
        return self.get(matches[0], for_update=for_update)

    def list_newest_first(self) -> list[ProtectedTestSuite]:
        return list(
            self.session.scalars(
                select(ProtectedTestSuite).order_by(
                    ProtectedTestSuite.loaded_at.desc(), ProtectedTestSuite.suite
                )
            )
        )

    def add(self, suite: ProtectedTestSuite) -> None:
        self.session.add(suite)
        self.session.flush()

    def approvals_of(self, suite: str) -> list[ProtectedSuiteApproval]:
        return list(
            self.session.scalars(
                select(ProtectedSuiteApproval)
                .where(ProtectedSuiteApproval.suite == suite)
                .order_by(
                    ProtectedSuiteApproval.approved_at, ProtectedSuiteApproval.approver_partner
                )
            )
        )

    def approvals_by_suite(self) -> dict[str, list[ProtectedSuiteApproval]]:
        out: dict[str, list[ProtectedSuiteApproval]] = {}
        for approval in self.session.scalars(
            select(ProtectedSuiteApproval).order_by(ProtectedSuiteApproval.approved_at)
        ):
            out.setdefault(approval.suite, []).append(approval)
        return out

    def approval_of(self, suite: str, partner: str, user: str) -> ProtectedSuiteApproval | None:
        return self.session.get(ProtectedSuiteApproval, (suite, partner, user))

    def add_approval(self, approval: ProtectedSuiteApproval) -> None:
        self.session.add(approval)
        self.session.flush()

    def clear_approvals(self, suite: str) -> None:
        for approval in self.approvals_of(suite):
            self.session.delete(approval)
        self.session.flush()


class ActiveVersionProbe:
    """A cheap "which version is active?" outside any unit of work (see module docstring).

    One connection per process, used by one thread at a time (the caller serialises).
    """

    def __init__(self, url: str) -> None:
        if is_sqlite(url):
            self._engine: Engine = create_engine(
                url,
                hide_parameters=True,
                pool_size=1,
                max_overflow=1,
                connect_args={"check_same_thread": False},
            )
        else:
            # autocommit: the probe is one SELECT, without a BEGIN and a ROLLBACK around it
            # (two round trips fewer for a read made before every request; ADR 0020)
            self._engine = create_engine(
                url,
                hide_parameters=True,
                pool_pre_ping=True,
                pool_size=1,
                max_overflow=1,
                isolation_level="AUTOCOMMIT",
            )

    def active_version(self) -> str | None:
        try:
            with self._engine.connect() as connection:
                value = connection.scalar(
                    select(PolicyVersion.version).where(PolicyVersion.status == ACTIVE)
                )
                connection.rollback()
        except SQLAlchemyError as exc:
            raise SourceUnavailable() from exc
        return value if isinstance(value, str) else None

    def active_bundle(self, version: str) -> bytes | None:
        try:
            with self._engine.connect() as connection:
                value = connection.scalar(
                    select(PolicyVersion.bundle).where(
                        PolicyVersion.version == version, PolicyVersion.status == ACTIVE
                    )
                )
                connection.rollback()
        except SQLAlchemyError as exc:
            raise SourceUnavailable() from exc
        return bytes(value) if value is not None else None

    def dispose(self) -> None:
        self._engine.dispose()
