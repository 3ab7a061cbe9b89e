"""Which subjects a fact concerns, and the pseudonyms the access log names them by.

A fact concerns one subject of its case, several (members of a household), or -- with no
`FactSubject` row -- the whole case. Every access-log entry that names a fact carries, per
fact, the blind-index pseudonyms of exactly those subjects (entry format v2,
`fact_subjects`), so the data-subject access report of one person lists only acts on data
about that person (ADR 0403). Clear columns only; nothing is decrypted here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, cast, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from hub.cases.models import SubjectIndex
from hub.facts.models import FactRecord, FactSubject

#: Rows per IN list (far below every database's parameter limit).
_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _one_of(session: Session, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `column = ANY(:array)`, one parameter: an IN list
    of a briefing's 200 ids is a statement over psycopg's 4 KB cache limit, parsed anew on
    every read (about 1 ms of CPU per briefing, ADR 0020). The same rows either way."""
    if session.get_bind().dialect.name == "postgresql":
        matches: ColumnElement[bool] = column == any_(
            bindparam("one_of", list(values), type_=ARRAY(String))
        )
        return matches
    within: ColumnElement[bool] = column.in_(values)
    return within


def subject_ids_by_fact(session: Session, fact_ids: Collection[str]) -> dict[str, list[str]]:
    """fact id -> the ids of the subjects it concerns, sorted; a fact of the whole case is
    absent from the answer."""
    out: dict[str, list[str]] = {}
    ids = sorted(set(fact_ids))
    for chunk in _chunks(ids):
        for fact_id, subject_id in session.execute(
            select(FactSubject.fact_id, FactSubject.subject_id).where(
                _one_of(session, FactSubject.fact_id, chunk)
            )
        ):
            out.setdefault(fact_id, []).append(subject_id)
    return {k: sorted(v) for k, v in out.items()}


def pseudonyms_of_subjects(session: Session, subject_ids: Collection[str]) -> dict[str, list[str]]:
    """subject id -> its blind-index values (none left once its case is shredded)."""
    out: dict[str, list[str]] = {s: [] for s in subject_ids}
    for chunk in _chunks(sorted(out)):
        for subject_id, value in session.execute(
            select(SubjectIndex.subject_id, SubjectIndex.value).where(
                SubjectIndex.subject_id.in_(chunk)
            )
        ):
            out[subject_id].append(value)
    return {k: sorted(v) for k, v in out.items()}


def pseudonyms_by_fact_and_case(
    session: Session, fact_ids: Collection[str], case_ids: Collection[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """fact id -> the blind-index values of the subjects it concerns, and case id -> every
    index value of that case's subjects, for `case_ids`.

    A fact of the whole case is absent from the first answer; a fact whose subjects have no
    values left (their case shredded) maps to the empty set. One statement while the facts
    fit one chunk (a briefing page does): a fact's subject rows joined to their index values
    and, after UNION ALL, the cases' rows with no fact id. Each statement costs a round trip
    and a round of SQLAlchemy's per-execution work (ADR 0020)."""
    linked: dict[str, set[str]] = {}
    of_case: dict[str, set[str]] = {c: set() for c in case_ids}
    for number, chunk in enumerate(_chunks(sorted(set(fact_ids)))):
        query: Any = (
            select(
                FactSubject.fact_id,
                cast(null(), String).label("case_id"),
                SubjectIndex.value,
            )
            .outerjoin(SubjectIndex, SubjectIndex.subject_id == FactSubject.subject_id)
            .where(_one_of(session, FactSubject.fact_id, chunk))
        )
        if number == 0 and of_case:
            query = union_all(
                query,
                select(
                    cast(null(), String).label("fact_id"),
                    SubjectIndex.case_id,
                    SubjectIndex.value,
                ).where(SubjectIndex.case_id.in_(sorted(of_case))),
            )
        for fact_id, case_id, value in session.execute(query):
            if fact_id is None:
                of_case[case_id].add(value)
                continue
            values = linked.get(fact_id)
            if values is None:
                values = linked[fact_id] = set()
            if value is not None:  # a subject without index values (outer join)
                values.add(value)
    return linked, of_case


def fact_pseudonyms(session: Session, facts: Sequence[FactRecord]) -> dict[str, tuple[str, ...]]:
    """fact id -> the pseudonyms of the subjects it concerns, for the log's `fact_subjects`.

    A fact of the whole case concerns every subject of its case. The index values of the
    facts' cases come with the facts' own in one statement, whether a fact of the whole case
    is among them or not: a case has a handful of subjects, and a second statement costs
    more than their rows (ADR 0020)."""
    if not facts:
        return {}
    linked, of_case = pseudonyms_by_fact_and_case(
        session, [f.id for f in facts], {f.case_id for f in facts}
    )
    whole_case = {case_id: tuple(sorted(values)) for case_id, values in of_case.items()}
    out: dict[str, tuple[str, ...]] = {}
    for fact in facts:
        values = linked.get(fact.id)
        out[fact.id] = whole_case[fact.case_id] if values is None else tuple(sorted(values))
    return out


def link_subjects(session: Session, fact_id: str, subject_ids: Iterable[str]) -> None:
    """Record that `fact_id` concerns these subjects (none: the whole case)."""
    for subject_id in sorted(set(subject_ids)):
        session.add(FactSubject(fact_id=fact_id, subject_id=subject_id))


def for_log(pseudonyms: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The `fact_subjects` of a log event (sorted tuples, as the entry stores them)."""
    return {k: tuple(sorted(set(v))) for k, v in pseudonyms.items()}
