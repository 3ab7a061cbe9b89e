"""The art. 15 report's HTML comes from one Jinja2 template with autoescaping
(hub/audit/templates/report.html), shared by the API's HTML answer, the auditor's page and
the PDF: text from the log or the network file is escaped, the page streams act by act, the
standalone document carries its own stylesheet and links nothing, and the fragment for the
web page has no inline style (the page's CSP would refuse it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from hub.audit.report import (
    ReportAct,
    ReportFailed,
    ReportHead,
    ReportLine,
    Summary,
    render_html,
)

HEAD = ReportHead(
    generated_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC),
    checkpoint={"tree_size": 12, "root_hash": "ab" * 32, "note": "origin\n12\nroot\n\n— sig x\n"},
    verifier_key="origin+1234+key",
    retention_closed_days=730,
    retention_rejected_days=28,
)
EVIL = '<script>alert("x")</script> & <img src=x onerror=1>'


def _act(seq: int, organisation: str = "Politie", lines: int = 1) -> ReportAct:
    return ReportAct(
        seq=seq,
        time_us=1_764_767_100_000_000 + seq,
        organisation=organisation,
        purpose="voor het casusoverleg",
        lines=tuple(
            ReportLine(f"De politie heeft iets ingezien ({i}).", "samenvatting", "Melding", "GGZ")
            for i in range(lines)
        ),
        leaf_hash=b"\0" * 32,
        proof=None,
        case_id="c-1",
        disclosed=True,
    )


def test_text_from_the_log_is_escaped_and_nothing_is_linked() -> None:
    html = "".join(render_html(HEAD, [_act(1, EVIL)], Summary()))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"<[^>]*\b(href|src)=", html)  # a document that fetches nothing
    assert "<style>" in html and "font-family" in html
    assert "Organisaties die informatie over u hebben gezien: &lt;script&gt;" in html


def test_the_report_streams_one_chunk_per_act_with_one_row_per_line() -> None:
    chunks = list(render_html(HEAD, [_act(1, lines=2), _act(2)], Summary()))
    rows = [c for c in chunks if c.startswith("<tr>")]
    assert len(rows) == 2
    assert rows[0].count("<tr>") == 2 and rows[0].count('<td rowspan="2">') == 3
    assert rows[1].count('<td rowspan="1">') == 3
    assert "3 december 2025 om 14:05" in rows[0]


def test_the_fragment_for_the_web_page_has_no_inline_style_and_headings_one_level_down() -> None:
    html = "".join(render_html(HEAD, [_act(1)], Summary(), standalone=False))
    assert "<style" not in html and "style=" not in html and "<html" not in html
    assert "<h1" not in html and "<h2>Inzageoverzicht persoonsgegevens</h2>" in html
    assert 'class="vhhub-table-scroll" role="region"' in html
    assert html.count("<div") == html.count("</div>")


def test_an_empty_report_says_so_and_a_failed_one_stops_with_a_warning() -> None:
    empty = "".join(render_html(HEAD, [], Summary()))
    assert "Er is niets over u gevonden." in empty and "Samenvatting" in empty
    failed = "".join(render_html(HEAD, _broken(), Summary()))
    assert "Dit overzicht kon niet worden afgemaakt" in failed
    assert "Samenvatting" not in failed and failed.rstrip().endswith("</html>")


def _broken() -> Iterator[ReportAct]:
    """One act, then the stored log fails to reproduce the checkpoint."""
    yield _act(1)
    raise ReportFailed("root differs")


def test_the_report_templates_escape_everything() -> None:
    from hub.audit import report

    folder = Path(report.__file__).parent / "templates"
    for path in folder.glob("*.html"):
        code = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
        assert "|safe" not in code.replace(" ", ""), path
        assert "Markup(" not in code, path
    assert report._templates().autoescape is True
