"""The case vault: per-case data keys, sealing, and opening only what a decision released.

This module is the only code that unwraps a case's data key, and the rest of hub/disclosure
the only code that calls its `open_*` methods (tests/foundation/test_one_door.py). Opening
demands the permit the gate minted for exactly that record (a `FactPermit`, a `PlanPermit`),
and only the gate can mint one, so forgetting the policy is an error, not a leak
(docs/principles.md section 2).
A ciphertext that fails to open is an integrity error: it is reported, never guessed around.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from hub.cases.errors import CaseShredded
from hub.cases.models import Case, Subject
from hub.crypto.envelope import Aad, DataKey, WrappedKey, new_data_key, open_sealed, seal
from hub.crypto.errors import DecryptionError
from hub.crypto.keys import KeyProvider
from hub.disclosure.models import CaseKey
from hub.errors import HubError, Refusal
from hub.facts.models import FactRecord
from hub.gate.permits import FactPermit, IdentityPermit, MinutesPartPermit, Permit, PlanPermit
from hub.meetings.models import MINUTES_SCHEMA, MeetingMinutes

#: what a subject's sealed identifiers document may hold, in this order
SUBJECT_FIELDS = ("name", "date_of_birth", "address", "bsn")


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


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


#: The AAD record of a fact's content: `seal_fact` seals, `open_fact` opens.
_FACT_RECORD = "fact"


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
        cache: dict[str, DataKey] | None = session.info.get("vhhub_data_keys")
        if cache is None:
            cache = session.info["vhhub_data_keys"] = {}
        else:
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

    def seal_fact(
        self,
        session: Session,
        *,
        case_id: str,
        fact_id: str,
        fact_type: str,
        content: Mapping[str, Any],
    ) -> bytes:
        """A fact's content, sealed to its case, row and type: what `open_fact` opens."""
        return self.seal_document(
            session,
            case_id=case_id,
            record=_FACT_RECORD,
            row_id=fact_id,
            schema_id=fact_type,
            document=content,
        )

    # -- opening (only with the permit that releases it) --------------------------------------

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

    def open_fact(self, session: Session, fact: FactRecord, permit: FactPermit) -> dict[str, Any]:
        """The released fields of a fact's content, and nothing else."""
        _demand(permit, FactPermit)
        # each column read once (a briefing opens 200 facts; every ORM read is Python code)
        fact_id, case_id, ciphertext = fact.id, fact.case_id, fact.content_ct
        if permit.fact_id != fact_id or permit.case_id != case_id:
            raise ValueError("the permit is for another fact")
        if not permit.releases_content or ciphertext is None:
            raise ValueError("this permit releases no content")
        content = self._open(
            session,
            case_id=case_id,
            record=_FACT_RECORD,
            row_id=fact_id,
            schema_id=fact.fact_type,
            ciphertext=ciphertext,
        )
        # the document was parsed for this call alone and nothing else holds it, so the
        # released fields are taken as they are: project_fields' deep copy (which guards a
        # document someone keeps) cost a briefing about 1.7 ms (ADR 0020)
        return {name: content[name] for name in permit.fields if name in content}

    def open_subject(
        self, session: Session, subject: Subject, permit: IdentityPermit
    ) -> dict[str, Any]:
        """The released identifying fields of one subject of the permit's case, and nothing
        else; an empty dict (nothing decrypted) when the permit releases none."""
        _demand(permit, IdentityPermit)
        if permit.case_id != subject.case_id:
            raise ValueError("the permit is for another case")
        fields = permit.subject_fields
        if not fields or subject.identifiers_ct is None:
            return {}
        document = self._open(
            session,
            case_id=subject.case_id,
            record="subject",
            row_id=subject.id,
            schema_id="subject.identifiers/1",
            ciphertext=subject.identifiers_ct,
        )
        return {f: document[f] for f in SUBJECT_FIELDS if f in fields and document.get(f)}

    def open_reason(self, session: Session, case: Case, permit: IdentityPermit) -> str | None:
        """The registration reason of the permit's case, when the permit releases it."""
        _demand(permit, IdentityPermit)
        if permit.case_id != case.id:
            raise ValueError("the permit is for another case")
        if not permit.releases_reason or case.reason_ct is None:
            return None
        document = self._open(
            session,
            case_id=case.id,
            record="case",
            row_id=case.id,
            schema_id="case.reason/1",
            ciphertext=case.reason_ct,
        )
        reason = document.get("reason")
        return reason if isinstance(reason, str) else None

    def open_document(
        self,
        session: Session,
        *,
        case_id: str,
        record: str,
        row_id: str,
        schema_id: str,
        ciphertext: bytes,
        permit: PlanPermit,
    ) -> dict[str, Any]:
        """A plan version or monitoring note of the case the permit names."""
        _demand(permit, PlanPermit)
        if permit.case_id != case_id:
            raise ValueError("the permit is for another case")
        return self._open(
            session,
            case_id=case_id,
            record=record,
            row_id=row_id,
            schema_id=schema_id,
            ciphertext=ciphertext,
        )

    def open_minutes(
        self, session: Session, part: MeetingMinutes, permit: MinutesPartPermit
    ) -> str:
        """The text of one minutes part, only under the permit for exactly that part that
        releases its text (ADR 0013)."""
        _demand(permit, MinutesPartPermit)
        if permit.part != part.id or permit.case_id != part.case_id:
            raise ValueError("the permit is for another minutes part")
        if not permit.releases_text or part.text_ct is None:
            raise ValueError("this permit releases no text")
        document = self._open(
            session,
            case_id=part.case_id,
            record="meeting_minutes",
            row_id=part.id,
            schema_id=MINUTES_SCHEMA,
            ciphertext=part.text_ct,
        )
        text = document.get("text")
        if not isinstance(text, str):
            raise IntegrityFailure(case_id=part.case_id, row_id=part.id)
        return text


def _demand(permit: Permit, kind: type[Permit]) -> None:
    """Type hints are not checked at run time: check that the permit is the gate's."""
    if not isinstance(permit, kind):
        raise TypeError(f"opening needs a {kind.__name__} from the gate")
