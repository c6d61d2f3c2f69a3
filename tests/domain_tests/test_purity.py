"""domain/ stays pure: no I/O library, no clock, no environment."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
BANNED_MODULES = {
    "httpx",
    "websockets",
    "sqlalchemy",
    "pyodbc",
    "typer",
    "os",
    "socket",
    "requests",
}
BANNED_CALLS = {"now", "utcnow", "today", "time", "getenv"}


def test_domain_imports_no_io_library() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in BANNED_MODULES, f"{path.name} imports {name}"


def test_domain_never_reads_the_clock_or_environment() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in BANNED_CALLS, f"{path.name} calls .{node.func.attr}()"
