"""The art. 15 report as a PDF, from the same standalone HTML the API answers (ADR 0403).

WeasyPrint renders what it is handed and nothing else: the stylesheet is embedded in the
document (`hub.audit.report.REPORT_CSS`), there is no base URL, and the URL fetcher refuses
every request (network, `file:`, `data:`), so a report can never make the hub fetch a URL or
read a file, whatever text it holds. Fonts come from the system's fontconfig, as any PDF
renderer's do.
"""

from __future__ import annotations

from typing import Any, NoReturn

from hub.errors import ServiceUnavailable


class PdfUnavailable(ServiceUnavailable):
    """WeasyPrint cannot load (the distribution's Pango is missing): a 503 that says so,
    never a 500 with a traceback in the log."""

    slug = "pdf-unavailable"
    title = "PDF unavailable"
    default_detail = "This hub cannot make PDFs now; ask for the report as HTML instead."


class FetchRefused(ValueError):
    """WeasyPrint asked for a resource; the report links none, so none is given."""


def refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses everything. Its message names no URL, so
    nothing of a report reaches a warning or a log line."""
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    class Refuse(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            raise FetchRefused("the report fetches no resources")

    return Refuse(allowed_protocols=(), allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """The PDF of a standalone report page."""
    # imported here: it loads slowly, and only reports need it
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError):
        raise PdfUnavailable() from None

    document = HTML(string=html, base_url=None, url_fetcher=refusing_fetcher())
    pdf: bytes = document.write_pdf()
    return pdf
