"""Screenshots of the web application's main screens for docs/ui.md, on the demo's data.

    .venv/bin/python -m tests.web.screenshots

Plays `vhhub demo` into a temporary data dir, serves it on a loopback port, logs in as the
demo's personas in the distribution's Chromium and saves one PNG per screen in docs/ui/,
then writes docs/ui.md around them. Run it after changing a screen; the pictures are what a
new user sees on a fresh machine.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page

from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import RunningHub
from tests.web.browser import chromium

OUT: Final = PROJECT_ROOT / "docs" / "ui"
_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DOC: Final = PROJECT_ROOT / "docs" / "ui.md"


@dataclass(frozen=True)
class Screen:
    name: str
    title: str
    user: str | None
    path: str
    text: str
    width: int = 1280
    full_page: bool = False
    #: a form to fill on the page first (label -> value), then the button to press
    fill: tuple[tuple[str, str], ...] = ()
    press: str | None = None
    #: what to scroll to before the picture (a CSS selector)
    show: str | None = None


def screens(case_id: str, meeting_id: str | None) -> list[Screen]:
    c = case_id
    found = [
        Screen(
            "login",
            "Aanmelden",
            None,
            "/aanmelden",
            "Aanmelden bij de inlogdienst van de eigen organisatie (OpenID Connect); met de "
            "ontwikkelsleutels ook de demo-login met de personen van `vhhub demo`.",
        ),
        Screen(
            "caseload",
            "Mijn casussen",
            "procesregisseur-1",
            "/casussen",
            "De procesregisseur: per casus tafel, fase, rol, volgend casusoverleg, open en "
            "achterstallige interventies, urgentie; filters en sortering. Doel: overzicht.",
        ),
        Screen(
            "case-procesregisseur",
            "Casuspagina (procesregisseur)",
            "procesregisseur-1",
            f"/casussen/{c}?doel=execution",
            "Wie het betreft (namen wel, BSN niet: daarvoor heeft het Veiligheidshuis geen "
            "grondslag), fase en verloop, deelnemers, en per leefgebied alleen dat een partner "
            "informatie heeft, met de reden van het beleid.",
            full_page=True,
        ),
        Screen(
            "case-casusregisseur",
            "Casuspagina (casusregisseur)",
            "demo-gemeente-wi",
            f"/casussen/{c}?doel=execution",
            "De casusregisseur van de gemeente: de briefing per leefgebied, per feit het niveau "
            "(volledig, samenvatting), de niet gedeelde velden en waarom.",
            full_page=True,
        ),
        Screen(
            "intake",
            "Aanmelding",
            "demo-politie",
            "/casussen/nieuw",
            "Een casus aanmelden: soort, voorgestelde tafel, reden en betrokkenen; fouten "
            "bovenaan en bij elk veld, in het Nederlands.",
            full_page=True,
        ),
        Screen(
            "regie",
            "Regie",
            "procesregisseur-1",
            f"/casussen/{c}/regie?doel=execution",
            "Screening, triage op de criteria van het Landelijk kader, deelnemers, "
            "casusregisseur en fase.",
            full_page=True,
        ),
        Screen(
            "plan",
            "Analyse en plan van aanpak",
            "demo-gemeente-wi",
            f"/casussen/{c}/plan?doel=execution",
            "Per leefgebied de analyse, doelen en interventies met eigenaar, termijn en status, "
            "en de voortgangsmeldingen.",
            full_page=True,
        ),
        Screen(
            "publish",
            "Informatie delen",
            "demo-woningcorporatie",
            f"/casussen/{c}/publiceren/housing.rent_arrears/1?doel=execution",
            "Een feit met de hand delen, voor partners zonder eigen applicatie: het formulier "
            "komt uit het JSON Schema van het feittype en controleert zoals de API.",
            full_page=True,
        ),
        Screen(
            "caseload-mobile",
            "Mijn casussen op een telefoon (360 px)",
            "demo-ggz",
            "/casussen",
            "Elke pagina werkt op 360 px breed; brede tabellen schuiven binnen hun eigen kader.",
            width=360,
        ),
        *oversight_screens(case_id),
        Screen(
            "accessibility",
            "Toegankelijkheidsverklaring",
            None,
            "/toegankelijkheid",
            "De toegankelijkheidsverklaring die de wet vraagt.",
        ),
    ]
    if meeting_id:
        found.insert(
            6,
            Screen(
                "meeting",
                "Casusoverleg",
                "demo-gemeente-wi",
                f"/overleggen/{meeting_id}?doel=execution",
                "Het casusoverleg: agenda, genodigden en het verslag per leefgebied zoals het "
                "beleid het aan deze lezer vrijgeeft; de agenda als iCalendar-bestand.",
                full_page=True,
            ),
        )
    return found


def oversight_screens(case_id: str) -> list[Screen]:
    """The privacy officer's and the auditor's screens (ADR 0016)."""
    week = datetime.now(ZoneInfo("Europe/Amsterdam")).isocalendar()
    return [
        Screen(
            "policy-matrix",
            "Beleid: de matrix als heatmap (privacy officer)",
            "fg-politie",
            "/beleid/matrix/multi_problem",
            "Per tafel: rijen zijn soorten kijkers en rollen, kolommen de fasen; elke cel toont "
            "hoeveel leefgebieden op elk niveau gedeeld worden (niets, bestaan, samenvatting, "
            "volledig). Een klik opent per leefgebied en veld de regel en de grondslag.",
            full_page=True,
        ),
        Screen(
            "policy-cell",
            "Beleid: één cel van de matrix",
            "fg-politie",
            "/beleid/matrix/multi_problem/cel?rij=police&fase=case_conference",
            "Wat de politie in het casusoverleg ziet: het niveau per leefgebied, de velden per "
            "feittype, de uitzonderingen en de regels met hun grondslag.",
            full_page=True,
        ),
        Screen(
            "policy-simulation",
            "Wat zou X zien?",
            "fg-politie",
            "/beleid/simulatie",
            "De simulatie: tafel, fase, soort kijker en rol, doel, en feittypen of een casus "
            "waaraan de eigen organisatie deelneemt; het antwoord per feit en veld, met reden.",
            full_page=True,
        ),
        Screen(
            "policy-versions",
            "Beleid: versies en goedkeuring",
            "fg-politie",
            "/beleid",
            "De actieve versie en voorgestelde versies; een versie openen toont de controles, "
            "het verschil met de actieve versie in woorden en als matrix, en de goedkeuring "
            "door twee andere organisaties (vier ogen).",
        ),
        Screen(
            "policy-history",
            "Beleid: geschiedenis",
            "fg-politie",
            "/beleid/geschiedenis",
            "Wie welke versie laadde en goedkeurde, wanneer ze in gebruik was en wat er "
            "veranderde; ook als CSV en JSON.",
        ),
        Screen(
            "signals",
            "Signalen van mogelijk misbruik",
            "fg-politie",
            f"/signalen?periode={week.year}-W{week.week:02d}",
            "Per medewerker van de eigen organisatie: ongewoon veel gelezen, buiten kantoortijd, "
            "buiten de eigen tafels, en weigeringen, elk met de logregels erachter.",
            full_page=True,
        ),
        Screen(
            "log-search",
            "Logboek doorzoeken (auditor)",
            "auditor-1",
            f"/logboek?casus={case_id}",
            "Zoeken met elk filter van de API (casus, organisatie, gebruiker, handeling, "
            "uitkomst, doel, tijd), per persoon via een formulier, en bladeren met een cursor.",
            full_page=True,
        ),
        Screen(
            "log-entry",
            "Een logregel en zijn bewijs",
            "auditor-1",
            "/logboek/3",
            "De velden van de regel in woorden, en de controle van het inclusiebewijs tegen een "
            "ondertekend controlepunt, met de uitkomst in woorden.",
            full_page=True,
        ),
        Screen(
            "log-status",
            "Verificatie van het logboek",
            "auditor-1",
            "/logboek/status",
            "Grootte, nieuwste controlepunt en zijn leeftijd, getuigen, de laatste verificatie "
            "en de exports.",
        ),
        Screen(
            "subject-report",
            "Inzageverzoek (artikel 15 AVG)",
            "auditor-1",
            "/inzage",
            "Het overzicht voor één persoon in gewone taal, klaar om te versturen, ook als PDF "
            "(hier het begin ervan).",
            fill=(("BSN", "111222333"),),
            press="Overzicht tonen",
            show="section[aria-label=Inzageoverzicht]",
        ),
    ]


def _login(browser: Browser, base: str, user: str | None, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    if user is not None:
        page.goto(f"{base}/aanmelden")
        page.get_by_role("button", name=f"Aanmelden als {user}").click()
        page.wait_for_load_state()
    return page


def _meeting_id(browser: Browser, base: str) -> str | None:
    page = _login(browser, base, "demo-gemeente-wi", 1280)
    page.goto(f"{base}/overleggen")
    links = page.eval_on_selector_all(
        "a[href^='/overleggen/']", "els => els.map(e => e.getAttribute('href'))"
    )
    page.context.close()
    for href in links:
        tail = href.removeprefix("/overleggen/").split("?")[0]
        if "/" not in tail and not tail.endswith(".ics"):
            return str(tail)
    return None


def main() -> int:
    from hub.context import HubContext
    from hub.demo.scenario import play
    from hub.setup import initialise

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", log_level="WARNING")
        initialise(settings)
        ctx = HubContext.open(settings)
        try:
            case_id = play(ctx).case_id
        finally:
            ctx.close()
        assert case_id
        with RunningHub(settings) as hub, chromium() as browser:
            meeting = _meeting_id(browser, hub.base_url)
            shots = screens(case_id, meeting)
            for shot in shots:
                page = _login(browser, hub.base_url, shot.user, shot.width)
                response = page.goto(hub.base_url + shot.path)
                if response is None or response.status >= 400:
                    raise SystemExit(f"{shot.name}: {shot.path} answered an error")
                if shot.press:
                    for label, value in shot.fill:
                        page.get_by_label(label, exact=True).fill(value)
                    page.get_by_role("button", name=shot.press).click()
                    page.wait_for_load_state()
                if shot.show:
                    page.locator(shot.show).first.evaluate("e => e.scrollIntoView()")
                page.screenshot(path=str(OUT / f"{shot.name}.png"), full_page=shot.full_page)
                page.context.close()
                print(f"docs/ui/{shot.name}.png")
    DOC.write_text(_document(shots), encoding="utf-8")
    print("docs/ui.md")
    return 0


def _document(shots: list[Screen]) -> str:
    lines = [
        "# The web application",
        "",
        "The screens of vhhub's web application (ADR 0015; the oversight screens of privacy",
        "officers and auditors: ADR 0016) on the data of `vhhub demo`, as the demo's personas",
        "see them. Regenerate the pictures and this page with",
        "",
        "```sh",
        ".venv/bin/python -m tests.web.screenshots",
        "```",
        "",
        "Start the hub with the README's first command and open http://127.0.0.1:8000/aanmelden;",
        "with the generated dev keys the login page lists the personas. Every screen is Dutch,",
        "states the purpose it reads for, and shows only what the API gives the same person for",
        "that purpose (tests/web/test_parity.py); every view that discloses is in the access log.",
        "",
    ]
    for shot in shots:
        who = f", as `{shot.user}`" if shot.user else ""
        lines += [
            f"## {shot.title}",
            "",
            f"`{_ID.sub('{id}', shot.path)}`{who}. {shot.text}",
            "",
            f"![{shot.title}](ui/{shot.name}.png)",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
