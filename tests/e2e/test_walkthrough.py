"""Every command of docs/walkthrough.md, run against a real hub started after `vhhub demo` on
the same data dir (as the README tells a newcomer), with its `# expect:` lines checked against
what the command printed: the walkthrough cannot rot. It writes only into temporary
directories: nothing into the repository, nothing at a fixed path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import RunningHub

WALKTHROUGH = PROJECT_ROOT / "docs" / "walkthrough.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
MARK = "@@walkthrough-block-{}@@"


def blocks() -> list[str]:
    return BLOCK.findall(WALKTHROUGH.read_text(encoding="utf-8"))


def expectations(block: str) -> list[str]:
    return [
        line.split("# expect:", 1)[1].strip()
        for line in block.splitlines()
        if line.strip().startswith("# expect:")
    ]


def test_the_walkthrough_has_commands_and_expectations() -> None:
    found = blocks()
    assert len(found) >= 6
    assert all(expectations(b) for b in found)


def test_the_walkthrough_writes_no_fixed_path() -> None:
    for block in blocks():
        assert "/tmp" not in block
        assert not re.search(r">\s*[\w.-]+\.(json|note|vkey|jsonl)\b", block), block


@pytest.fixture
def demo_hub(settings: Settings) -> Iterator[RunningHub]:
    """`vhhub demo` on an empty data dir, then a hub serving that data dir (`vhhub serve`)."""
    demo = subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VHHUB_DATABASE_URL": settings.effective_database_url},
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    with RunningHub(settings) as running:
        yield running


def _repository_files() -> set[str]:
    return {p.name for p in PROJECT_ROOT.iterdir()}


def test_every_walkthrough_command_works_as_documented(
    demo_hub: RunningHub, tmp_path: Path
) -> None:
    script = ["set -euo pipefail"]
    for number, block in enumerate(blocks()):
        script.append(f'echo "{MARK.format(number)}"')
        script.append(block)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "HUB": demo_hub.base_url,
        "VHHUB_DATA_DIR": str(demo_hub.settings.data_dir),
        "VHHUB_DATABASE_URL": demo_hub.settings.effective_database_url,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "TMPDIR": str(temp),
    }
    before = _repository_files()
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    outputs = re.split(r"@@walkthrough-block-\d+@@\n", result.stdout)[1:]
    assert len(outputs) == len(blocks())
    for number, (block, output) in enumerate(zip(blocks(), outputs, strict=True)):
        for expected in expectations(block):
            assert expected in output, f"block {number}: {expected!r} not in {output[-800:]!r}"
    # the walkthrough cleaned up after itself, and wrote nothing into the repository
    assert list(temp.iterdir()) == []
    assert _repository_files() <= before
