"""The layering rule: graphs and tools run without the HTTP layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["graphs", "tools"])
def test_lower_layers_never_import_the_server(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] == "server"
        )
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_context_fills_its_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "4321")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    context = GenerationContext()
    assert context.timeout_ms == 4321
    providers = context.model_router().providers
    assert [(p.name, p.model) for p in providers] == [("openai", "gpt-test")]
    assert [p.name for p in context.embedding_providers or ()] == ["openai"]


def test_context_keeps_what_the_caller_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "4321")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    router = ModelRouter([])
    context = GenerationContext(router=router, timeout_ms=900)
    assert context.model_router() is router
    assert context.timeout_ms == 900
    assert context.embedding_providers == ()
