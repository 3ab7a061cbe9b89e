"""The people of `vhhub demo`, as the role play acts with them and the web application's demo
login lists them (ADR 0015).

The same partners, user ids and roles the role play acts with (hub.demo.scenario), so a
person who logs in as one of them sees in the browser what the demo printed for them. The
demo login exists only while the generated dev keys are in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hub.vocabulary import Role

#: partner id -> (short column label, roles its demo user claims)
PARTNERS: dict[str, tuple[str, list[str]]] = {
    "politie": ("politie", ["publisher", "participant"]),
    "om": ("om", ["publisher", "participant"]),
    "reclassering": ("reclass", ["publisher", "participant"]),
    "gemeente-wi": ("gem-w&i", ["publisher", "participant", "casusregisseur"]),
    "woningcorporatie": ("woning", ["publisher", "participant"]),
    "maatschappelijk-werk": ("mw", ["publisher", "participant"]),
    "ggz": ("ggz", ["publisher", "participant"]),
}
ZVH = "zvh"
#: the partners whose privacy officer the demo lists
PRIVACY_OFFICER_PARTNERS: Final = ("politie", "om", "gemeente-wi", "woningcorporatie")


@dataclass(frozen=True)
class Persona:
    partner: str
    user: str
    roles: tuple[Role, ...]
    #: what the login page says of this person (Dutch)
    title: str


def _title(roles: tuple[Role, ...]) -> str:
    if Role.CASUSREGISSEUR in roles:
        return "casusregisseur en deelnemer"
    if Role.PUBLISHER in roles:
        return "deelnemer en informatieleverancier"
    return "deelnemer"


PERSONAS: Final[tuple[Persona, ...]] = (
    Persona(ZVH, "procesregisseur-1", (Role.PROCESREGISSEUR,), "procesregisseur"),
    *(
        Persona(
            partner,
            f"demo-{partner}",
            tuple(Role(r) for r in roles),
            _title(tuple(Role(r) for r in roles)),
        )
        for partner, (_, roles) in PARTNERS.items()
    ),
    Persona(ZVH, "auditor-1", (Role.AUDITOR,), "auditor"),
    # privacy officers (functionaris gegevensbescherming) of three key partners, who can
    # approve a policy change between them (two of them, neither the one that loaded it),
    # and of a housing corporation, which is not a key partner and so cannot (ADR 0103)
    *(
        Persona(partner, f"fg-{partner}", (Role.PRIVACY_OFFICER,), "privacy officer (FG)")
        for partner in PRIVACY_OFFICER_PARTNERS
    ),
)


def persona(partner: str, user: str) -> Persona | None:
    for candidate in PERSONAS:
        if candidate.partner == partner and candidate.user == user:
            return candidate
    return None
