"""The disclosure matrix as a heat map (issue 18, item 1): per table, a row per viewer kind
or role, a column per phase, and per cell how many life domains each level gives.

Why counts and not the 11 domains per cell: the matrix must fit one screen per table; the
count per level is what an officer scans for ("this row sees 3 domains in full here"), and
the per-domain view is one click away. Why from `MatrixOut` (the API's answer) and not the
matrix view: the web page must show exactly what `GET /policies/{version}/matrix` gives the
same viewer; the CLI's HTML converts its view to the same model, so both read alike.

A phase a row has no cell for grants nothing (`matrix_grants_nothing`): it is shown as a
cell with every domain at `none`, marked as "no cell", never left blank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hub import labels
from hub.policy_review.schemas import MatrixCellOut, MatrixOut, MatrixRowOut, MatrixTableOut

LEVELS: Final = ("none", "existence", "summary", "full")


@dataclass(frozen=True)
class LevelCount:
    level: str
    count: int


@dataclass(frozen=True)
class HeatCell:
    """One bar of a phase column: the counts per level, in the order of LEVELS."""

    row: str
    phase: str
    purpose: str | None
    profile: str | None
    known_profile: bool
    counts: tuple[LevelCount, ...]
    fact_type_exceptions: int

    @property
    def present(self) -> bool:
        """Whether the matrix has a cell here (else the phase grants nothing)."""
        return self.purpose is not None

    @property
    def nonzero(self) -> tuple[LevelCount, ...]:
        return tuple(c for c in self.counts if c.count)


@dataclass(frozen=True)
class HeatRow:
    row: str
    family: str
    label: str
    #: per phase (in the matrix's phase order) its bars: one per purpose, at least one
    phases: tuple[tuple[HeatCell, ...], ...]


@dataclass(frozen=True)
class HeatTable:
    table: str
    title: str
    phases: tuple[str, ...]
    domains: int
    rows: tuple[HeatRow, ...]


def level_counts(domains: Mapping[str, str], names: Sequence[str]) -> tuple[LevelCount, ...]:
    """How many of the life domains `names` each level gives (unknown levels count as none:
    what an unknown level grants is nothing)."""
    counts = dict.fromkeys(LEVELS, 0)
    for name in names:
        level = domains.get(name, "none")
        counts[level if level in counts else "none"] += 1
    return tuple(LevelCount(level, counts[level]) for level in LEVELS)


def _cell(row: str, cell: MatrixCellOut, names: Sequence[str]) -> HeatCell:
    return HeatCell(
        row=row,
        phase=cell.phase,
        purpose=cell.purpose,
        profile=cell.profile,
        known_profile=cell.known_profile,
        counts=level_counts(cell.domains if cell.known_profile else {}, names),
        fact_type_exceptions=len(cell.fact_types),
    )


def _empty(row: str, phase: str, names: Sequence[str]) -> HeatCell:
    return HeatCell(row, phase, None, None, False, level_counts({}, names), 0)


def heat_row(row: MatrixRowOut, phases: Sequence[str], names: Sequence[str]) -> HeatRow:
    columns: list[tuple[HeatCell, ...]] = []
    for phase in phases:
        here = [c for c in row.cells if c.phase == phase]
        cells = sorted(here, key=lambda c: (c.purpose != phase, c.purpose))
        columns.append(
            tuple(_cell(row.row, c, names) for c in cells) or (_empty(row.row, phase, names),)
        )
    return HeatRow(row.row, row.family, row.label, tuple(columns))


def heat_table(matrix: MatrixOut, table: MatrixTableOut) -> HeatTable:
    names = matrix.life_domains
    return HeatTable(
        table=table.table,
        title=table.title,
        phases=tuple(matrix.phases),
        domains=len(names),
        rows=tuple(heat_row(r, matrix.phases, names) for r in table.rows),
    )


def find_table(matrix: MatrixOut, table: str) -> MatrixTableOut | None:
    return next((t for t in matrix.tables if t.table == table), None)


def largest_table(matrix: MatrixOut) -> str | None:
    """The table with the most cells (the bench's and the overview's reference)."""
    if not matrix.tables:
        return None
    return max(matrix.tables, key=lambda t: sum(len(r.cells) for r in t.rows)).table


@dataclass(frozen=True)
class CellDetail:
    """One cell opened: the row, the matrix cell (None: the phase grants nothing) and the
    annotated rules that apply on top of the row, with their legal sources."""

    table: MatrixTableOut
    row: MatrixRowOut
    phase: str
    cell: MatrixCellOut | None


def cell_detail(
    matrix: MatrixOut, table: str, row: str, phase: str, purpose: str | None
) -> CellDetail | None:
    """The cell (table, row, phase, purpose); None when the table, row or phase is not in the
    matrix. A phase without a cell for `purpose` is a detail without a cell."""
    found = find_table(matrix, table)
    if found is None or phase not in matrix.phases:
        return None
    the_row = next((r for r in found.rows if r.row == row), None)
    if the_row is None:
        return None
    cells = [c for c in the_row.cells if c.phase == phase]
    cell = next((c for c in cells if c.purpose == purpose), None)
    if cell is None and purpose is None and cells:
        cell = cells[0]
    return CellDetail(found, the_row, phase, cell)


def row_words() -> dict[str, str]:
    """The Dutch label of every matrix row: partner kinds, and the three role rows."""
    roles = {r: labels.ROLE[r].capitalize() for r in ("procesregisseur", "casusregisseur")}
    return {**labels.PARTNER_KIND, **roles, "auditor": "Auditor"}


def dutch_words() -> dict[str, Mapping[str, str]]:
    """The Dutch words a matrix is shown with (the web application's labels)."""
    return {
        "level_words": labels.LEVEL,
        "phase_words": labels.PHASE,
        "table_words": labels.TABLE,
        "purpose_words": labels.PURPOSE,
        "row_words": row_words(),
        "category_words": labels.SENSITIVITY,
    }
