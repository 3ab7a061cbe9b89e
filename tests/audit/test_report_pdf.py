"""The art. 15 report as a PDF (hub/audit/pdf.py): WeasyPrint renders the standalone HTML
and fetches nothing -- no URL on the network, no file on the disk -- whatever the report's
text holds; and the PDF holds the report's words."""

from __future__ import annotations

import http.server
import io
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.audit.pdf import FetchRefused, PdfUnavailable, html_to_pdf, refusing_fetcher
from hub.audit.report import ReportAct, ReportHead, ReportLine, Summary, render_html


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body{color:red}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


def test_the_fetcher_refuses_every_url() -> None:
    fetcher = refusing_fetcher()
    for url in ("http://example.org/x.css", "file:///etc/passwd", "data:text/css,body{}"):
        with pytest.raises(FetchRefused) as raised:
            fetcher(url)
        assert url not in str(raised.value)


def test_a_document_that_links_the_network_or_the_disk_fetches_nothing(
    listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = listener
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n")
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/a.css">'
        f"<style>@import url('{base}/b.css');</style></head><body>"
        f'<img src="{base}/c.png"><img src="file://{secret}"><p>tekst</p></body></html>'
    )
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF")
    assert hits == []


def test_the_pdf_holds_the_reports_words() -> None:
    pypdf = pytest.importorskip("pypdf")
    head = ReportHead(
        generated_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC),
        checkpoint={"tree_size": 3, "root_hash": "ab" * 32, "note": "o\n3\nr\n\n— o x\n"},
        verifier_key="o+1+k",
        retention_closed_days=730,
        retention_rejected_days=28,
    )
    act = ReportAct(
        seq=1,
        time_us=1_764_767_100_000_000,
        organisation="Woonstichting Demo",
        purpose="voor het casusoverleg",
        lines=(ReportLine("De politie heeft een overlastmelding ingezien.", "samenvatting"),),
        leaf_hash=b"\0" * 32,
        proof=None,
        case_id="c",
        disclosed=True,
    )
    pdf = html_to_pdf("".join(render_html(head, [act], Summary())))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Inzageoverzicht persoonsgegevens" in text
    assert "overlastmelding" in text and "Woonstichting Demo" in text
    assert "3 december 2025" in text


def test_without_the_pdf_library_the_answer_is_a_503_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine without the distribution's Pango cannot load WeasyPrint: the report route
    answers 503 `pdf-unavailable` (problem+json by the hub's handler), never a 500."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # makes `import weasyprint` fail
    with pytest.raises(PdfUnavailable) as refused:
        html_to_pdf("<p>inzage</p>")
    assert refused.value.status == 503 and refused.value.slug == "pdf-unavailable"
