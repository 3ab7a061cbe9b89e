"""The queries about facts that several use cases share: clear metadata columns only.

"The current facts of a case" was written out in five services; it lives here once, so a
change to what "current" means (a status, a retention rule) is made in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.facts.models import Fact, FactSubject
from hub.ids import plausible_id
from hub.vocabulary import FactStatus


def current_in_case(case_id: str) -> Select[Any]:
    """The statement behind every "current facts of this case" question, oldest first."""
    return (
        select(Fact)
        .where(Fact.case_id == case_id, Fact.status == FactStatus.CURRENT)
        .order_by(Fact.published_at, Fact.id)
    )


class FactRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, fact_id: str, *, for_update: bool = False) -> Fact | None:
        if not plausible_id(fact_id):
            return None
        if for_update:
            return self.session.get(Fact, fact_id, with_for_update=True)
        return self.session.get(Fact, fact_id)

    def list_current_for_case(self, case_id: str) -> list[Fact]:
        return list(self.session.scalars(current_in_case(case_id)))

    def current_ids_among(self, case_id: str, fact_ids: Collection[str]) -> set[str]:
        """Which of `fact_ids` are current facts of the case (plans refer to facts by id)."""
        if not fact_ids:
            return set()
        return set(
            self.session.scalars(
                select(Fact.id).where(
                    Fact.case_id == case_id,
                    Fact.id.in_(fact_ids),
                    Fact.status == FactStatus.CURRENT,
                )
            )
        )

    def by_idempotency_keys(self, publisher: str, keys: Collection[str]) -> dict[str, Fact]:
        if not keys:
            return {}
        return {
            f.idempotency_key: f
            for f in self.session.scalars(
                select(Fact).where(
                    Fact.publisher_partner == publisher, Fact.idempotency_key.in_(keys)
                )
            )
        }

    def current_publishers_about(self, subject_ids: Collection[str]) -> list[tuple[str, str]]:
        """(publisher kind, publisher partner) of current facts about these subjects, for
        screening's hit/no-hit; never the facts themselves."""
        if not subject_ids:
            return []
        rows = self.session.execute(
            select(Fact.publisher_kind, Fact.publisher_partner)
            .join(FactSubject, FactSubject.fact_id == Fact.id)
            .where(FactSubject.subject_id.in_(subject_ids), Fact.status == FactStatus.CURRENT)
        ).all()
        return [(r[0], r[1]) for r in rows]
