"""Every command of docs/walkthrough.md, run against a real hub, with its `# expect:` lines
checked against what the command printed: the walkthrough cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hub.settings import PROJECT_ROOT
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


def test_every_walkthrough_command_works_as_documented(hub: RunningHub, tmp_path: Path) -> None:
    script = ["set -euo pipefail"]
    for number, block in enumerate(blocks()):
        script.append(f'echo "{MARK.format(number)}"')
        script.append(block)
    env = {
        **os.environ,
        "HUB": hub.base_url,
        "VHHUB_DATA_DIR": str(hub.settings.data_dir),
        "VHHUB_DATABASE_URL": hub.settings.effective_database_url,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
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
