"""The CLI's HTML matrix (`vhhub policy matrix --format html`): a heat map from an autoescaped
template, every phase column (closed included), the counts per level in words (colour is
never the only carrier), no per-cell bullet lists, Dutch words, printable."""

from __future__ import annotations

import dataclasses
import re

import pytest

from hub.policy_review.heatmap import heat_table, level_counts
from hub.policy_review.matrix import MatrixView, build_matrix, render_html, to_json
from hub.policy_review.schemas import MatrixOut
from hub.policy_review.versions import ReviewedVersion
from hub.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def view() -> MatrixView:
    return build_matrix(ReviewedVersion.from_directory(PROJECT_ROOT / "policies"))


def test_every_table_is_a_heat_map_with_all_seven_phases_in_words(view: MatrixView) -> None:
    page = render_html(view)
    assert page.startswith("<!doctype html>")
    assert "<li class=" not in page  # no 11-item list per cell any more
    for title in ("Jeugdtafel", "Volwassenentafel", "Tafel huiselijk geweld"):
        assert f"<h2>{title}</h2>" in page
    header = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert header is not None
    assert [h for h in re.findall(r'<th scope="col">([^<]+)</th>', header.group(1))] == [
        "Wie",
        "Aanmelding",
        "Screening",
        "Voorbereiding",
        "Casusoverleg",
        "Plan van aanpak",
        "Uitvoering",
        "Afgesloten",
    ]
    assert "Politie" in page and "Procesregisseur" in page and "Auditor" in page
    assert "summary_all" not in page.split("<h2>Regels")[0]  # no internal profile names
    assert "@media print" in page
    assert "niets gedeeld" in page  # a phase without a cell says so


def test_each_bar_says_its_counts_in_words(view: MatrixView) -> None:
    matrix = MatrixOut.model_validate(to_json(view))
    table = heat_table(matrix, matrix.tables[0])
    page = render_html(view)
    for row in table.rows:
        for bars in row.phases:
            for cell in bars:
                assert sum(c.count for c in cell.counts) == len(matrix.life_domains)
                words = ", ".join(f"{c.count} {LEVEL_NL[c.level]}" for c in cell.nonzero)
                assert words in page
                for c in cell.nonzero:
                    assert f"seg {c.level} grow-{c.count}" in page


LEVEL_NL = {
    "none": "niet gedeeld",
    "existence": "alleen het bestaan",
    "summary": "samenvatting",
    "full": "volledig",
}


def test_the_template_escapes_what_the_policy_data_says(view: MatrixView) -> None:
    table = dataclasses.replace(view.tables[0], title="<script>x()</script>", table="elders")
    page = render_html(dataclasses.replace(view, tables=(table,)))
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page


def test_unknown_levels_count_as_nothing() -> None:
    counts = level_counts({"a": "full", "b": "weird"}, ["a", "b", "c"])
    assert [(c.level, c.count) for c in counts] == [
        ("none", 2),
        ("existence", 0),
        ("summary", 0),
        ("full", 1),
    ]
