"""The demo's report for a 100-column terminal: who sees what, side by side, and why not."""

from __future__ import annotations

import textwrap
from typing import Any

from hub.demo.personas import PARTNERS, PERSONAS
from hub.demo.scenario import FACTS, LEVEL_MARK, DemoResult

WIDTH = 100
PHASE_NL = {"preparation": "de voorbereiding", "case_conference": "het casusoverleg"}
PUBLISHER = {label: publisher for publisher, _, _, label in FACTS}
LEVEL_NL = {"summary": "samenvatting", "existence": "alleen bestaan", "none": "niet getoond"}


def _matrix(result: DemoResult, phase: str) -> list[str]:
    briefings = result.briefings[phase]
    label_width = 26
    header = f"  {'feit':<{label_width}}" + "".join(f"{PARTNERS[p][0]:>9}" for p in PARTNERS)
    lines = [header, "  " + "-" * (len(header) - 2)]
    for index, label in enumerate(result.fact_ids):
        cells = []
        for partner in PARTNERS:
            row = briefings[partner]["facts"][index]
            mark = LEVEL_MARK[row["level"]] + ("*" if PUBLISHER[label] == partner else " ")
            cells.append(f"{mark:>9}")
        lines.append(f"  {label:<{label_width}}" + "".join(cells))
    return lines


def _withheld(result: DemoResult, phase: str) -> list[str]:
    """Per partner, the facts it gets below full, grouped by the policy's reason."""
    lines: list[str] = []
    for partner, briefing in result.briefings[phase].items():
        groups: dict[tuple[str, str], list[str]] = {}
        for row in briefing["facts"]:
            if row["level"] != "full":
                groups.setdefault((row["level"], row["reason"]), []).append(row["fact"])
        lines.append(f"  {partner}:")
        for (level, reason), facts in groups.items():
            text = f"{LEVEL_NL[level]}: {', '.join(facts)}. Reden: {reason}"
            lines += textwrap.wrap(
                text, WIDTH - 6, initial_indent="    - ", subsequent_indent="      "
            )
    return lines


def _who(result: DemoResult, phase: str) -> list[str]:
    lines: list[str] = []
    for partner, briefing in result.briefings[phase].items():
        subjects = briefing["subjects"]["subjects"]
        people = "; ".join(
            f"{role}: {s['name']}, {s['date_of_birth']}, BSN {s['bsn']}"
            for role, s in subjects.items()
        )
        lines += textwrap.wrap(
            f"{partner}: {people}", WIDTH - 4, initial_indent="  ", subsequent_indent="    "
        )
    return lines


def render(result: DemoResult) -> str:
    out = [
        "vhhub demo: het rollenspel van het Zorg- en Veiligheidshuis, via de echte API",
        "=" * WIDTH,
        f"casus {result.case_id} (gezin, O3-tafel multiproblematiek)",
        "",
        "Verloop",
    ]
    for number, step in enumerate(result.steps, 1):
        out += textwrap.wrap(
            step, WIDTH - 4, initial_indent=f"  {number}. ", subsequent_indent="     "
        )
    for phase in ("preparation", "case_conference"):
        out += [
            "",
            f"Wat ziet wie in {PHASE_NL[phase]}?",
            "  V=volledig  S=samenvatting  B=alleen bestaan  -=niets  *=eigen feit",
        ]
        out += _matrix(result, phase)
    out += ["", "Wie de casus betreft, zoals elke partner het in het casusoverleg ziet:"]
    out += _who(result, "case_conference")
    out += ["", "Wat elke partner in het casusoverleg niet (volledig) krijgt, en waarom:"]
    out += _withheld(result, "case_conference")
    out += [
        "",
        "Integrale analyse en plan van aanpak (casusregisseur: gemeente W&I), zoals de",
        "woningcorporatie het leest: tekst alleen waar het beleid dat leefgebied volledig geeft",
    ]
    for item in result.plan["analysis"]:
        out += textwrap.wrap(
            f"{item['life_domain']}: {item['assessment']} ({item['facts']} feiten)",
            WIDTH - 4,
            initial_indent="  - ",
            subsequent_indent="    ",
        )
    risk = result.plan["risk"]
    out += textwrap.wrap(
        f"risico {risk['level']}: {risk['assessment']}",
        WIDTH - 4,
        initial_indent="  ",
        subsequent_indent="    ",
    )
    for item in result.plan["interventions"]:
        out += textwrap.wrap(
            f"[{item['id']}] {item['text']} - {item['owner']}, uiterlijk {item['deadline']}",
            WIDTH - 4,
            initial_indent="  ",
            subsequent_indent="    ",
        )
    out += ["", "Inzage voor de ouders (AVG art. 15): elk ziet alleen informatie over zichzelf"]
    for role, report in result.reports.items():
        out += textwrap.wrap(
            f"{role}: {report['acts']} handelingen, {report['lines']} regels; soorten "
            f"informatie: {', '.join(report['kinds_of_information'])}.",
            WIDTH - 4,
            initial_indent="  ",
            subsequent_indent="    ",
        )
        if report["example"]:
            out += textwrap.wrap(
                f"bijvoorbeeld: {report['example']}",
                WIDTH - 4,
                initial_indent="    ",
                subsequent_indent="    ",
            )
    log: dict[str, Any] = result.log
    verification = log["verification"]
    out += ["", "Logboek (toegangslog, Merkle-boom met ondertekende controlepunten)"]
    out.append(
        f"  {log['case_entries']} regels over deze casus; "
        f"{log['facts_disclosed_in_briefings']} feit-inzages met hun velden vastgelegd"
    )
    actions = ", ".join(f"{k} {v}" for k, v in log["actions"].items())
    out += textwrap.wrap(actions, WIDTH - 4, initial_indent="  ", subsequent_indent="  ")
    status = "in orde" if verification["ok"] else f"FOUT: {verification['problem']}"
    out.append(
        f"  verificatie van het hele log: {status} ({verification['entries_checked']} "
        f"regels, {verification['checkpoints_checked']} controlepunten)"
    )
    out.append(
        f"  controlepunt: {log['checkpoint']['tree_size']} regels, root "
        f"{log['checkpoint']['root'][:32]}..."
    )
    out += [
        "",
        f"Klaar in {result.seconds:.1f} s. Ga verder met `vhhub serve` en docs/walkthrough.md.",
        "",
        "In de browser: start `vhhub serve` en open http://127.0.0.1:8000/aanmelden (demo-login,",
        "alleen met de ontwikkelsleutels). Meld u aan als een van deze personen:",
        *(f"  {p.user:<28} {p.title} ({p.partner})" for p in PERSONAS),
    ]
    return "\n".join(line.rstrip() for line in out)
