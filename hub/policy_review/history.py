"""The history of policy changes (issue 18, item 5): per version who loaded it, who approved
it on which diff, when it was active, and what it changed.

Why from the version and approval rows and not from the access log: the rows are what
governs (ADR 0103), they say exactly who approved on which digest, and reading them needs
only `read_policies`; the access log holds the same acts but is the auditor's to read.
Why the files are compared with the version loaded before (not the one active before): that
is the manifest the loader changed; what the change means for decisions is the diff, whose
size is shown when this process computed it (a diff takes 20-45 s, the history must not
compute one per version).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.audit.entry import Action
from hub.identity.viewer import Viewer
from hub.policy_review.models import ACTIVE, PolicyApproval, PolicyVersion
from hub.policy_review.schemas import (
    FileChangesOut,
    HistoryApprovalOut,
    HistoryEntryOut,
    PersonOut,
    PolicyHistoryOut,
)
from hub.policy_review.store import PolicyVersionRepository
from hub.policy_review.usecase import PolicyReviewBase


def file_changes(files: Sequence[dict[str, Any]], before: PolicyVersion | None) -> FileChangesOut:
    """The paths `files` adds, removes and changes (by SHA-256) against `before`'s."""
    mine = {str(f["path"]): str(f["sha256"]) for f in files}
    theirs = {str(f["path"]): str(f["sha256"]) for f in (before.files if before else [])}
    return FileChangesOut(
        against=before.version if before else None,
        added=sorted(set(mine) - set(theirs)) if before else [],
        removed=sorted(set(theirs) - set(mine)),
        changed=sorted(p for p in set(mine) & set(theirs) if mine[p] != theirs[p]),
    )


def _approval(a: PolicyApproval) -> HistoryApprovalOut:
    return HistoryApprovalOut(
        partner=a.approver_partner,
        user=a.approver_user,
        approved_at=a.approved_at,
        against=a.base_version,
        diff_digest=a.diff_digest,
    )


class PolicyHistoryUseCases(PolicyReviewBase):
    def known_diff_changes(self, old: str, new: str) -> int | None:
        """Overridden by the service that keeps the diffs it computed."""
        return None

    def history(self, viewer: Viewer) -> PolicyHistoryOut:
        """Every loaded version, oldest first (a read: `read_policies`, logged)."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            repo = PolicyVersionRepository(session)
            rows = list(reversed(repo.list_newest_first()))
            approvals = repo.approvals_by_version()
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                reason=f"read the history of {len(rows)} policy versions",
                policy_version=version,
            )
            active = next((r.version for r in rows if r.status == ACTIVE), None)
            entries = [
                self._entry(
                    repo, row, approvals.get(row.version, []), rows[i - 1] if i else None, active
                )
                for i, row in enumerate(rows)
            ]
        return PolicyHistoryOut(active=active, versions=entries)

    def _entry(
        self,
        repo: PolicyVersionRepository,
        row: PolicyVersion,
        approvals: list[PolicyApproval],
        before: PolicyVersion | None,
        active: str | None,
    ) -> HistoryEntryOut:
        base = approvals[-1].base_version if approvals else active
        changes = None
        if base is not None and base != row.version:
            # stored with the digest of every full diff the hub showed (any replica, after a
            # restart); else this process may still hold the diff
            changes = repo.diff_change_count(base, row.version)
            if changes is None:
                changes = self.known_diff_changes(base, row.version)
        loader = (
            PersonOut(partner=row.loaded_by_partner, user=row.loaded_by_user)
            if row.loaded_by_partner and row.loaded_by_user
            else None
        )
        return HistoryEntryOut(
            version=row.version,
            status=row.status,
            origin=row.origin,
            loaded_at=row.loaded_at,
            loaded_by=loader,
            approvals=[_approval(a) for a in approvals],
            activated_at=row.activated_at,
            retired_at=row.retired_at,
            files=file_changes(row.files, before),
            diff_changes=changes,
        )


#: the columns of the CSV export, one row per version
CSV_COLUMNS = (
    "version",
    "status",
    "origin",
    "loaded_at",
    "loaded_by_partner",
    "loaded_by_user",
    "approvals",
    "activated_at",
    "retired_at",
    "files_added",
    "files_removed",
    "files_changed",
    "diff_changes",
)


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def history_rows(out: PolicyHistoryOut) -> list[list[str]]:
    """The history as CSV rows (approvals as `partner/user@time#digest`, `;`-separated)."""
    rows = [list(CSV_COLUMNS)]
    for v in out.versions:
        rows.append(
            [
                v.version,
                v.status,
                v.origin or "",
                _iso(v.loaded_at),
                v.loaded_by.partner if v.loaded_by else "",
                v.loaded_by.user if v.loaded_by else "",
                ";".join(
                    f"{a.partner}/{a.user}@{_iso(a.approved_at)}#{a.diff_digest or ''}"
                    for a in v.approvals
                ),
                _iso(v.activated_at),
                _iso(v.retired_at),
                ";".join(v.files.added),
                ";".join(v.files.removed),
                ";".join(v.files.changed),
                "" if v.diff_changes is None else str(v.diff_changes),
            ]
        )
    return rows


def history_csv(out: PolicyHistoryOut) -> str:
    """RFC 4180 CSV; a cell that a spreadsheet would run as a formula is quoted with `'`."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in history_rows(out):
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return buffer.getvalue()
