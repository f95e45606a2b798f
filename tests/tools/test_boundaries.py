"""What may import what: the offline stand-ins sit on top of text analysis, never below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Code that runs whatever model answers must not lean on a model stand-in; only graph nodes,
# which call a stand-in as the last responder, may import one.
ALWAYS_ON = [
    *sorted(p for p in (ROOT / "tools").rglob("*.py") if "offline" not in p.parts),
    *sorted(p for p in (ROOT / "graphs").rglob("*.py") if p.name != "nodes.py"),
    *sorted((ROOT / "evals" / "scorers").glob("*.py")),
]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_always_on_list_covers_the_modules_that_moved() -> None:
    names = {str(p.relative_to(ROOT)) for p in ALWAYS_ON}
    assert {
        "tools/compaction.py",
        "tools/retrieval.py",
        "tools/store/materials.py",
        "tools/payloads/blueprint.py",
        "tools/payloads/teaching_brief.py",
        "tools/models/embeddings.py",
        "tools/text/words.py",
        "graphs/shared/sources.py",
        "graphs/teaching_brief/rules.py",
        "evals/scorers/chat.py",
    } <= names


@pytest.mark.parametrize("path", ALWAYS_ON, ids=lambda p: str(p.relative_to(ROOT)))
def test_always_on_code_does_not_import_the_offline_stand_ins(path: Path) -> None:
    assert sorted(n for n in imported(path) if n.startswith("tools.offline")) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tools" / "text").glob("*.py")), ids=lambda p: p.name
)
def test_text_analysis_imports_nothing_but_itself(path: Path) -> None:
    ours = {n for n in imported(path) if n.split(".")[0] in {"tools", "graphs", "server"}}
    assert {n for n in ours if not n.startswith("tools.text")} == set()
