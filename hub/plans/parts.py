"""The text-bearing parts of a plan: their life domain, their sensitivity, their Dutch names.

Every free text of the analysis and the plan (an analysis per life domain, the risk
assessment, a goal, an intervention, a monitoring note) is released per part by the policy,
as a plan-note fact of the part's life domain and sensitivity (ADR 0007). This module holds
what the writer's side (hub.plans.service) and the door (hub.disclosure.plans) must agree on:
how strict a part is at least, and how a withheld part is named to its reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.facts.catalog import SENSITIVITY_RANK
from hub.facts.models import Fact
from hub.vocabulary import LifeDomain, Sensitivity

#: The life domains as a Dutch reader of the plan knows them (zelfredzaamheidsmatrix).
DOMAIN_NL: Final[Mapping[LifeDomain, str]] = MappingProxyType(
    {
        LifeDomain.HOUSING: "huisvesting",
        LifeDomain.FINANCES: "financiën",
        LifeDomain.WORK_DAYTIME: "werk en dagbesteding",
        LifeDomain.MENTAL_HEALTH: "geestelijke gezondheid",
        LifeDomain.PHYSICAL_HEALTH: "lichamelijke gezondheid",
        LifeDomain.ADDICTION: "verslaving",
        LifeDomain.JUSTICE: "justitie",
        LifeDomain.FAMILY_RELATIONS: "gezinsrelaties",
        LifeDomain.PARENTING: "opvoeding",
        LifeDomain.SAFETY: "veiligheid",
        LifeDomain.SOCIAL_NETWORK: "sociaal netwerk",
    }
)

#: What a part is called in a placeholder, per section.
_PART_NL: Final = {
    "analysis": "analyse",
    "risk": "risico-inschatting",
    "goal": "doel",
    "intervention": "interventie",
    "note": "voortgangsnotitie",
}


def placeholder(section: str, domain: LifeDomain | None) -> str:
    """The text a reader sees instead of a part the policy did not release to it, e.g.
    "analyse van leefgebied justitie niet gedeeld". Names the domain, never the content."""
    name = _PART_NL[section]
    if domain is None:
        return f"{name} niet gedeeld (geen leefgebied vastgelegd)"
    return f"{name} van leefgebied {DOMAIN_NL[domain]} niet gedeeld"


def strictest(values: Iterable[Sensitivity | None]) -> Sensitivity:
    """The highest of `values` (criminal > special > ordinary); ordinary when none is given."""
    given = [v for v in values if v is not None]
    return max(given, key=SENSITIVITY_RANK.__getitem__, default=Sensitivity.ORDINARY)


def cited_facts(
    session: Session, case_id: str, fact_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """(sensitivity, publisher kind) of each cited fact of the case, current or not: the
    policy carries their category over to the plan note written from them (a GGZ fact makes
    the note health data even where its type is ordinary). Clear metadata only."""
    wanted = set(fact_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Fact.id, Fact.sensitivity, Fact.publisher_kind).where(
            Fact.case_id == case_id, Fact.id.in_(wanted)
        )
    )
    return {fact_id: (sensitivity, kind) for fact_id, sensitivity, kind in rows}


def cited_sensitivities(
    session: Session, case_id: str, fact_ids: Iterable[str]
) -> dict[str, Sensitivity]:
    """The sensitivity of each cited fact of the case, current or not (an analysis written
    from a fact stays as sensitive as it, even after the fact is corrected or withdrawn).
    From the facts' clear metadata column; nothing is decrypted."""
    return {
        fact_id: Sensitivity(sensitivity)
        for fact_id, (sensitivity, _kind) in cited_facts(session, case_id, fact_ids).items()
    }
