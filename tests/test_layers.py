"""Imports point one way: domain ← projections ← application; adapters → domain; the simulator
alone; cli wires everything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "projections", "application", "adapters", "simulator", "cli")
#: The recon packages each package may import (besides itself).
ALLOWED = {
    "domain": set(),
    "projections": {"domain"},
    "application": {"domain", "projections"},
    "adapters": {"domain"},
    "simulator": set(),
    "cli": set(PACKAGES),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, top level or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend([(node.lineno, node.module)])
    return found


def crossings(package: str) -> list[str]:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return wrong


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    assert crossings(package) == []


def test_the_rule_finds_a_crossing(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text("def f():\n    from adapters.store import Store\n")
    assert imports_of(path) == [(2, "adapters.store")]
