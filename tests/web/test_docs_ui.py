"""docs/ui.md shows every main screen, and every picture it shows exists (the command that
makes both is `python -m tests.web.screenshots`)."""

from __future__ import annotations

import re

from hub.settings import PROJECT_ROOT
from tests.web.screenshots import screens


def test_docs_ui_shows_each_main_screen_with_its_picture() -> None:
    text = (PROJECT_ROOT / "docs" / "ui.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\((ui/[^)]+\.png)\)", text)
    assert pictures, "docs/ui.md shows no screenshots"
    for picture in pictures:
        assert (PROJECT_ROOT / "docs" / picture).is_file(), picture
    expected = {f"ui/{s.name}.png" for s in screens("case", "meeting")}
    assert expected <= set(pictures), sorted(expected - set(pictures))
