"""What the wheel ships: the packages `pyproject.toml` selects, and no test doubles among them."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from setuptools import find_namespace_packages, find_packages

ROOT = Path(__file__).resolve().parent.parent
# Modules that only tests may use: the test tree itself and LangChain's fake chat models.
TEST_ONLY = ("tests", "langchain_core.language_models.fake_chat_models")


def _find_config() -> dict[str, Any]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config: dict[str, Any] = pyproject["tool"]["setuptools"]["packages"]["find"]
    return config


def shipped_packages(include: Iterable[str] | None = None) -> list[str]:
    """The packages setuptools puts in the wheel, discovered as `packages.find` configures it."""
    config = _find_config()
    # In pyproject.toml, `packages.find` finds namespace packages unless told otherwise.
    finder = find_namespace_packages if config.get("namespaces", True) else find_packages
    (where,) = config.get("where", ["."])
    return finder(
        where=str(ROOT / where),
        include=tuple(include if include is not None else config.get("include", ("*",))),
        exclude=tuple(config.get("exclude", ())),
    )


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is_test_only(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in TEST_ONLY)


def doubles_imported_by(packages: Iterable[str]) -> dict[str, list[str]]:
    """Shipped modules that import a test double, and what they import."""
    found: dict[str, list[str]] = {}
    for package in packages:
        for path in sorted((ROOT / package.replace(".", "/")).glob("*.py")):
            if bad := sorted(name for name in _imports(path) if _is_test_only(name)):
                found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_wheel_holds_the_runtime_packages_and_no_tests() -> None:
    packages = shipped_packages()
    for expected in ("graphs.quiz", "server.routes", "tools.models", "prompts", "evals"):
        assert expected in packages
    assert [p for p in packages if _is_test_only(p)] == []
    modules = {
        f"{package}.{path.stem}"
        for package in packages
        for path in (ROOT / package.replace(".", "/")).glob("*.py")
    }
    assert "tools.models.router" in modules
    assert "tools.models.fakes" not in modules
    assert not (ROOT / "tools" / "models" / "fakes.py").exists()


def test_no_shipped_module_imports_a_test_double() -> None:
    assert doubles_imported_by(shipped_packages()) == {}


def test_the_check_sees_test_doubles_where_they_are() -> None:
    # The same scan over the test tree finds the doubles, so an empty answer above means something.
    found = doubles_imported_by(shipped_packages(include=["tests*"]))
    assert found["tests/fakes.py"] == ["langchain_core.language_models.fake_chat_models"]
    assert "tests.server" in shipped_packages(include=["tests*"])


def test_the_built_package_carries_every_backends_migrations(tmp_path: Path) -> None:
    # setuptools' build_py lays out exactly the modules and package data a wheel gets.
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "from setuptools import setup; setup()"]
        + ["-q", "build_py", "-d", str(build)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for backend in ("postgres", "sqlite"):
        source = ROOT / "tools" / "store" / "migrations" / backend
        built = build / "tools" / "store" / "migrations" / backend
        names = sorted(p.name for p in source.glob("*.sql"))
        assert names, backend
        assert sorted(p.name for p in built.glob("*.sql")) == names
    assert (build / "tools" / "store" / "migrations" / "__init__.py").is_file()
