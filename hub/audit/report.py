"""The data-subject access report as a printable HTML page (Dutch, for the person concerned)."""

from __future__ import annotations

from html import escape

from hub.audit.schemas import ReportLine, SubjectAccessReport

ACTION_NL = {
    "fact.publish": "heeft informatie vastgelegd",
    "fact.correct": "heeft informatie gecorrigeerd",
    "fact.withdraw": "heeft informatie ingetrokken",
    "briefing.read": "heeft informatie ingezien",
    "updates.read": "heeft wijzigingen ingezien",
}


def _rows(lines: list[ReportLine]) -> str:
    if not lines:
        return '<tr><td colspan="6">Geen.</td></tr>'
    out = []
    for line in lines:
        out.append(
            "<tr>"
            f"<td>{escape(line.time.strftime('%Y-%m-%d %H:%M'))}</td>"
            f"<td>{escape(line.partner or 'onbekend')} ({escape(line.partner_kind or '-')})</td>"
            f"<td>{escape(ACTION_NL.get(line.action, line.action))}</td>"
            f"<td>{escape(', '.join(line.fact_types) or '-')}</td>"
            f"<td>{escape(line.purpose or '-')}</td>"
            f"<td class=mono>#{line.seq}</td>"
            "</tr>"
        )
    return "".join(out)


def _note_html(note: str) -> str:
    return "<br>".join(escape(line) for line in note.splitlines())


def render_report_html(report: SubjectAccessReport) -> str:
    head = (
        "<tr><th>Wanneer</th><th>Organisatie</th><th>Wat</th><th>Soort informatie</th>"
        "<th>Doel</th><th>Logregel</th></tr>"
    )
    return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<title>Inzageoverzicht (AVG art. 15)</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: .3em .5em; text-align: left; font-size: 10pt; }}
.mono {{ font-family: monospace; }} @media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>Inzageoverzicht persoonsgegevens</h1>
<p>Dit overzicht toont welke organisaties in het Zorg- en Veiligheidshuis informatie over u
hebben vastgelegd en wie welke soort informatie heeft ingezien, wanneer en met welk doel
(artikel 15 AVG). De inhoud van de informatie staat hier niet in. Elke regel is met een
bewijs van opname te controleren tegen het ondertekende controlepunt van het logboek.</p>
<p>Opgesteld: {escape(report.generated_at.strftime("%Y-%m-%d %H:%M"))} UTC.
Controlepunt: {report.checkpoint.tree_size} regels, root
<span class=mono>{escape(report.checkpoint.root_hash)}</span>.</p>
<h2>Vastgelegde informatie</h2><table>{head}{_rows(report.published)}</table>
<h2>Ingezien</h2><table>{head}{_rows(report.seen)}</table>
<h2>Overige handelingen</h2><table>{head}{_rows(report.other)}</table>
<h2>Controle</h2>
<p class=mono>Ondertekend controlepunt:<br>{_note_html(report.checkpoint.note)}</p>
<p class=mono>Publieke sleutel: {escape(report.verifier_key)}</p>
</body></html>
"""
