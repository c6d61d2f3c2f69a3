"""Running the recon command as a user does: a subprocess, its exit code, its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


class Recon:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.config = workdir / "recon.toml"

    def run(
        self, *args: str, env: dict[str, str] | None = None, check: int | None = 0
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=300,
        )
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, check: int | None = 0) -> Any:
        return json.loads(
            self.run(*args, "--config", str(self.config), "--json", check=check).stdout
        )

    def reconcile(self, *args: str, check: int | None = None) -> tuple[int, Any]:
        result = self.run("reconcile", "--config", str(self.config), "--json", *args, check=check)
        return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo run for the session; tests copy its folder so each starts from the same
    books."""
    workdir = tmp_path_factory.mktemp("demo")
    Recon(workdir).run("demo", "--workdir", str(workdir))
    return workdir


@pytest.fixture
def recon(demo_template: Path, tmp_path: Path) -> Recon:
    import shutil

    workdir = tmp_path / "demo"
    shutil.copytree(demo_template, workdir)
    text = (workdir / "recon.toml").read_text().replace(str(demo_template), str(workdir))
    (workdir / "recon.toml").write_text(text)
    return Recon(workdir)
