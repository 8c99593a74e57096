"""The guide stays true: README and docs/ code blocks parse, their links and the scripts and modules they
name exist, and the commands they show are real `clipcite` subcommands."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _blocks(lang: str) -> list[tuple[Path, str]]:
    return [(p, body) for p in PAGES for kind, body in BLOCK.findall(p.read_text()) if kind == lang]


@pytest.mark.parametrize("page,code", _blocks("python"), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_python_blocks_parse(page, code):
    ast.parse(code)


def test_readme_is_a_guide_and_links_resolve():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
    for page in PAGES:
        for target in re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


NAMED_FILE = re.compile(r"`((?:scripts|engine|ingest|api|models|clipcite|tests)/[\w/.-]+\.(?:py|sh))")


def test_named_scripts_and_modules_exist():
    for page in PAGES:
        named = NAMED_FILE.findall(page.read_text())
        for path in set(named):
            assert (ROOT / path).exists(), f"{page.name} names missing {path}"


def test_shown_commands_are_subcommands():
    from api.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for page in PAGES:
        for name in re.findall(r"\bclipcite (serve|worker|models|doctor|index|[a-z]+)\b", page.read_text()):
            if name in {"is", "and", "a", "the", "command"}:
                continue
            assert name in sub.choices, f"{page.name} shows `clipcite {name}`"
