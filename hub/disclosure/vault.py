"""The case vault: per-case data keys, sealing, and opening only what a decision released.

This module and the rest of hub/disclosure are the only code that unwraps a case's data key.
Opening demands the policy decision that allows it (a `FactDecision`, a `SubjectRelease`,
a `PlanRelease`), so forgetting the policy is a type error, not a leak (STYLE.md section 3).
A ciphertext that fails to open is an integrity error: it is reported, never guessed around.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.crypto.envelope import Aad, DataKey, WrappedKey, new_data_key, open_sealed, seal
from hub.crypto.errors import DecryptionError
from hub.crypto.keys import KeyProvider
from hub.disclosure.models import CaseKey
from hub.errors import Gone, HubError, Refusal
from hub.facts.catalog import project_fields
from hub.rego.decisions import FactDecision
from hub.vocabulary import DisclosureLevel


class CaseShredded(Gone):
    slug = "case-shredded"
    title = "Case shredded"
    default_detail = (
        "This case has passed its retention period and was crypto-shredded; "
        "its content can no longer be decrypted by anyone. / "
        "Deze casus is na afloop van de bewaartermijn vernietigd (crypto-shredding); "
        "de inhoud kan door niemand meer worden ontsleuteld."
    )


class IntegrityFailure(HubError):
    """A stored ciphertext does not open under its own case, row and schema."""

    status = 500
    slug = "integrity-error"
    title = "Integrity error"
    default_detail = "Stored data failed its integrity check; nothing was disclosed."

    def __init__(self, *, case_id: str, row_id: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.row_id = row_id


class LoggedIntegrityFailure(IntegrityFailure, Refusal):
    """An integrity failure whose `integrity.error` entry is already in the unit of work:
    as a `Refusal` it commits that entry before answering. Raised only where nothing else
    was written yet (the disclosure door, before its read entry)."""


@dataclass(frozen=True)
class SubjectRelease:
    """Permission to decrypt a case's subject identifiers, for one stated reason code."""

    case_id: str
    reason: str


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


class CaseVault:
    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    # -- keys -------------------------------------------------------------------------------

    def create_case_key(self, session: Session, case_id: str) -> None:
        wrapped = self._keys.wrap_data_key(new_data_key(), case_id=case_id)
        session.add(
            CaseKey(case_id=case_id, kek_version=wrapped.kek_version, wrapped=wrapped.to_bytes())
        )

    def _data_key(self, session: Session, case_id: str) -> DataKey:
        """The case's data key, unwrapped once per unit of work.

        Kept in the session's own `info` dict, so it lives exactly as long as the transaction
        and never in process memory across requests.
        """
        cache: dict[str, DataKey] = session.info.setdefault("vhhub_data_keys", {})
        key = cache.get(case_id)
        if key is not None:
            return key
        row = session.get(CaseKey, case_id)
        if row is None:
            raise CaseShredded()
        try:
            key = self._keys.unwrap_data_key(WrappedKey.from_bytes(row.wrapped), case_id=case_id)
        except DecryptionError:
            raise IntegrityFailure(case_id=case_id, row_id="case-key") from None
        cache[case_id] = key
        return key

    # -- sealing (anyone with a case may write into it) ---------------------------------------

    def seal_document(
        self,
        session: Session,
        *,
        case_id: str,
        record: str,
        row_id: str,
        schema_id: str,
        document: Mapping[str, Any],
    ) -> bytes:
        key = self._data_key(session, case_id)
        aad = Aad(purpose=record, case_id=case_id, row_id=row_id, schema_id=schema_id)
        return seal(key, _encode(document), aad=aad)

    # -- opening (only with the decision that releases it) ------------------------------------

    def _open(
        self,
        session: Session,
        *,
        case_id: str,
        record: str,
        row_id: str,
        schema_id: str,
        ciphertext: bytes,
    ) -> dict[str, Any]:
        key = self._data_key(session, case_id)
        aad = Aad(purpose=record, case_id=case_id, row_id=row_id, schema_id=schema_id)
        try:
            document: dict[str, Any] = json.loads(open_sealed(key, ciphertext, aad=aad))
        except DecryptionError:
            raise IntegrityFailure(case_id=case_id, row_id=row_id) from None
        return document

    def open_fact(
        self,
        session: Session,
        *,
        case_id: str,
        fact_id: str,
        fact_type: str,
        ciphertext: bytes,
        decision: FactDecision,
    ) -> dict[str, Any]:
        """The released fields of a fact's content, and nothing else."""
        if decision.level not in (DisclosureLevel.SUMMARY, DisclosureLevel.FULL):
            raise ValueError("this decision releases no content")
        content = self._open(
            session,
            case_id=case_id,
            record="fact",
            row_id=fact_id,
            schema_id=fact_type,
            ciphertext=ciphertext,
        )
        return project_fields(content, decision.fields)

    def open_subject(
        self, session: Session, *, subject_id: str, ciphertext: bytes, release: SubjectRelease
    ) -> dict[str, Any]:
        return self._open(
            session,
            case_id=release.case_id,
            record="subject",
            row_id=subject_id,
            schema_id="subject.identifiers/1",
            ciphertext=ciphertext,
        )

    def open_document(
        self,
        session: Session,
        *,
        case_id: str,
        record: str,
        row_id: str,
        schema_id: str,
        ciphertext: bytes,
        release: PlanRelease,
    ) -> dict[str, Any]:
        if release.case_id != case_id:
            raise ValueError("the release is for another case")
        return self._open(
            session,
            case_id=case_id,
            record=record,
            row_id=row_id,
            schema_id=schema_id,
            ciphertext=ciphertext,
        )


@dataclass(frozen=True)
class PlanRelease:
    """Permission (an allowed read_plan action) to decrypt a case's analysis and plan."""

    case_id: str
    policy_version: str
