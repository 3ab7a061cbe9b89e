"""What the `vhhub` command line shows people: progress, one-line summaries, tables.

Why one module: every command follows the same split. Stdout holds the result a script
parses (an export, a JSON report, a digest, a table) and nothing else; stderr holds what is
for the person watching: a progress bar while long work runs and one summary line when it
ends. So `vhhub audit verify ... | jq` and a scheduled `vhhub retention run >> log` keep
working while a terminal shows what is going on.

Why the bar is off when stderr is not a terminal: a CI log or a cron mail would otherwise
collect hundreds of redrawn bar frames. The summary line is printed either way, so the log
still says what happened and how long it took.

Why tables go through rich but never wrap away a value: a table that lands in a pipe or a
file is laid out as wide as its widest row (nothing cut off with an ellipsis, no ANSI
codes); on a terminal rich fits it to the window and folds long cells instead of cutting
them. Cell values are rendered as plain text, never as rich markup, so a value such as
``[bold]`` from the database is shown as it is, and control characters are spelt out
(`visible`), so a value cannot drive the operator's terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

__all__ = [
    "Tracker",
    "count",
    "duration",
    "progress",
    "stderr",
    "summary",
    "table",
    "visible",
]

#: The console for people: progress and summaries. It looks up `sys.stderr` on every write,
#: so a test runner that swaps the stream sees the output.
stderr: Final = Console(stderr=True, highlight=False)

#: Width a table may take when stdout is a pipe or a file and the table is narrower.
_PIPE_MIN_WIDTH: Final = 80


def _is_terminal(stream: object) -> bool:
    """Whether a person is (probably) looking at `stream`; FORCE_COLOR does not count."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # closed stream
        return False


def visible(text: str) -> str:
    """`text` with every character a terminal would act on instead of show (escape
    sequences, bell, carriage return, right-to-left overrides, zero-width characters) spelt
    out as ``\\x1b`` or ``\\u202e``: a value from the database or a file name must not
    recolour, move the cursor, clear the screen or reorder what the operator reads."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text
    )


def count(n: int, singular: str | None = None, plural: str | None = None) -> str:
    """A count as the command line prints counts: ``312,004``, or with its noun:
    ``count(1, "entry", "entries")`` is ``1 entry``, ``count(2, "case")`` is ``2 cases``."""
    number = f"{n:,}"
    if singular is None:
        return number
    noun = singular if n == 1 else plural or f"{singular}s"
    return f"{number} {noun}"


def duration(seconds: float) -> str:
    """Elapsed time for a summary line: 0.4 s, 12.3 s, 4 min 05 s."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class Tracker:
    """What a long operation's progress callback calls; shown as one rich task.

    Callable as ``tracker(done, total)`` with the cumulative count so far (the shape of the
    callbacks in the services), or advanced step by step with `advance`. `elapsed` is the
    time since the `progress` block started, for the summary line."""

    def __init__(self, bar: Progress, task: TaskID, total: int | None) -> None:
        self._bar = bar
        self._task = task
        self._started = time.monotonic()
        self._stopped: float | None = None
        self.total = total
        self.done = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None and total != self.total:
            self.total = total
            self._bar.update(self._task, total=max(total, done))
        self.done = done
        self._bar.update(self._task, completed=done)

    def advance(self, steps: int = 1) -> None:
        self(self.done + steps)

    def describe(self, description: str) -> None:
        """Change the words in front of the bar (a new phase of the same work)."""
        self._bar.update(self._task, description=description)

    def stop(self) -> None:
        """Freeze `elapsed` (the block has ended)."""
        if self._stopped is None:
            self._stopped = time.monotonic()

    @property
    def elapsed(self) -> float:
        return (self._stopped or time.monotonic()) - self._started


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Tracker]:
    """A transient progress bar on stderr for the block; `total` None shows a spinner until
    the first callback names one. Off (every call a no-op) when stderr is not a terminal.

    The bar disappears when the block ends, so the summary the command prints next is the
    only line left behind."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        # a console of this moment: whether it animates is fixed when a console is made, and
        # the module's one may have been made while stderr was something else (a test runner)
        console=Console(stderr=True, highlight=False),
        transient=True,
        disable=not _is_terminal(sys.stderr),
    )
    with bar:
        tracker = Tracker(bar, bar.add_task(description, total=total), total)
        try:
            yield tracker
        finally:
            tracker.stop()


def summary(text: str) -> None:
    """The one line a command ends with on stderr: what it did, in numbers, and how long.

    Never wrapped (a log keeps it on one line) and never parsed as markup."""
    stderr.print(Text(visible(" ".join(text.split()))), soft_wrap=True, highlight=False)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    header: bool | None = True,
) -> None:
    """Print `rows` under `columns` on stdout as a borderless rich table.

    Columns are separated by two spaces. `header=None` shows the header line on a terminal
    only: for lists whose first line and word scripts already read (`vhhub policy list |
    head -1 | cut -d' ' -f1`)."""
    terminal = _is_terminal(sys.stdout)
    grid = Table(
        box=None,
        pad_edge=False,
        padding=(0, 1),
        show_header=terminal if header is None else header,
        header_style="bold",
        show_edge=False,
    )
    for name in columns:
        grid.add_column(name, overflow="fold")
    for row in rows:
        grid.add_row(*(Text(visible("" if cell is None else str(cell))) for cell in row))
    if terminal:
        Console(highlight=False).print(grid)
        return
    # a pipe or a file: as wide as the widest row, no colour, nothing folded away, and no
    # padding after the last value of a line
    needed = Console(width=10_000).measure(grid).maximum
    out = Console(width=max(needed, _PIPE_MIN_WIDTH), no_color=True, force_terminal=False)
    with out.capture() as captured:
        out.print(grid)
    for line in captured.get().splitlines():
        sys.stdout.write(line.rstrip() + "\n")
