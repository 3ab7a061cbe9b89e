"""The repository stands alone: a reader needs nothing outside it.

- no tracked (or new, not ignored) text file points at the design documents that once lived
  outside the repository; what they said is in docs/principles.md and docs/glossary.md;
- every relative Markdown link in README.md and docs/**/*.md reaches a file or folder of the
  repository, and an `#anchor` into a Markdown file reaches a heading or an explicit anchor;
- every "docs/principles.md, section N" names a section that exists.

Git is only read (`git ls-files`), never changed.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]

# Built from parts so that this file does not trip its own check.
OUTSIDE_REFERENCES = (
    "DESIGN" + ".md",
    "STYLE" + ".md",
    ".." + "/shared",
    "shared" + "/domain",
)

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[^)]*)?\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
PRINCIPLES_SECTION_REF = re.compile(r"principles\.md[,\s(#]*section\s+(\d+)")
PRINCIPLES_SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def _git_ls(*args: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return [name for name in out.decode("utf-8").split("\0") if name]


@cache
def repository_files() -> frozenset[str]:
    """Tracked files plus new files git does not ignore, as POSIX paths from the root."""
    names = set(_git_ls()) | set(_git_ls("--others", "--exclude-standard"))
    return frozenset(
        name for name in names if not name.startswith(".git/") and (ROOT / name).is_file()
    )


@cache
def repository_dirs() -> frozenset[str]:
    dirs: set[str] = set()
    for name in repository_files():
        dirs.update(str(parent) for parent in PurePosixPath(name).parents if str(parent) != ".")
    return frozenset(dirs)


def text_of(name: str) -> str | None:
    """The file's text, or None for a binary file."""
    data = (ROOT / name).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def markdown_files() -> list[str]:
    return sorted(
        name
        for name in repository_files()
        if name == "README.md" or (name.startswith("docs/") and name.endswith(".md"))
    )


def without_code(markdown: str) -> str:
    """The Markdown with fenced code blocks and code spans removed: links there are text."""
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


@cache
def anchors_of(name: str) -> frozenset[str]:
    markdown = text_of(name) or ""
    anchors = set(EXPLICIT_ANCHOR.findall(markdown))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return frozenset(anchors)


def link_targets(markdown: str) -> list[str]:
    text = without_code(markdown)
    targets = INLINE_LINK.findall(text) + REFERENCE_DEFINITION.findall(text)
    return [target.strip("<>") for target in targets]


def broken_link(source: str, target: str) -> str | None:
    """Why a link from `source` to `target` is broken, or None when it is fine or external."""
    if SCHEME.match(target) or target.startswith("//"):
        return None
    path_part, _, fragment = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if path_part.startswith("/"):
        return "absolute paths do not work outside one host"
    if path_part:
        resolved = (ROOT / PurePosixPath(source).parent / path_part).resolve()
        try:
            relative = resolved.relative_to(ROOT).as_posix()
        except ValueError:
            return "points outside the repository"
        if relative not in repository_files() and relative not in repository_dirs():
            return "no such file or folder in the repository"
    else:
        relative = source
    is_markdown = relative.endswith(".md") and relative in repository_files()
    if fragment and is_markdown and unquote(fragment) not in anchors_of(relative):
        return f"no anchor #{fragment} in {relative}"
    return None


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for name in sorted(repository_files()):
        text = text_of(name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found = [ref for ref in OUTSIDE_REFERENCES if ref in line]
            if found:
                offenders.append(f"{name}:{number}: {', '.join(found)}")
    assert not offenders, (
        "these lines point at documents outside the repository; cite docs/principles.md, "
        "docs/glossary.md, docs/architecture.md or an ADR instead:\n" + "\n".join(offenders)
    )


def test_every_relative_markdown_link_resolves() -> None:
    files = markdown_files()
    assert "README.md" in files and "docs/principles.md" in files and "docs/glossary.md" in files
    broken = []
    for name in files:
        for target in link_targets(text_of(name) or ""):
            reason = broken_link(name, target)
            if reason:
                broken.append(f"{name}: ({target}): {reason}")
    assert not broken, "broken Markdown links:\n" + "\n".join(broken)


def test_every_cited_principle_exists() -> None:
    principles = text_of("docs/principles.md") or ""
    numbers = [int(n) for n in PRINCIPLES_SECTION.findall(principles)]
    assert numbers == list(range(1, len(numbers) + 1)), "sections must be numbered 1, 2, 3, ..."
    missing = []
    for name in sorted(repository_files()):
        text = text_of(name)
        if text is None:
            continue
        for match in PRINCIPLES_SECTION_REF.finditer(text):
            if int(match.group(1)) not in numbers:
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{name}:{line}: section {match.group(1)}")
    assert not missing, "cited sections missing from docs/principles.md:\n" + "\n".join(missing)


def test_the_link_check_sees_what_it_should() -> None:
    # The checker itself: a link in code is text, an anchor must exist, a folder counts.
    sample = "[a](docs/adr/) `[b](nowhere.md)`\n```\n[c](nowhere.md)\n```\n[d](README.md#nope)\n"
    targets = link_targets(sample)
    assert targets == ["docs/adr/", "README.md#nope"]
    assert broken_link("README.md", "docs/adr/") is None
    assert broken_link("README.md", "README.md#nope") is not None
    assert broken_link("README.md", "nowhere.md") is not None
    assert broken_link("docs/glossary.md", "principles.md#one-door") is None
    assert broken_link("README.md", "https://example.org/x") is None
