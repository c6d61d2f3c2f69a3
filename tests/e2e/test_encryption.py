"""Encryption at rest: with store.cipher_key, no customer, vendor or technician name is in the
store's files or tables; the wrong key is refused in one line; a store is copied to a new key."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from adapters.store import WRONG_KEY
from cli.config import write_config
from cli.demo import embedded_config
from projections.sealing import new_key
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def world(workdir: Path, key: str | None, store_url: str | None = None) -> Recon:
    """The embedded world, its store encrypted under ``key`` (None: plain), ingested."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = embedded_config(workdir)
    if key is not None:
        data["store"]["cipher_key"] = key
    if store_url is not None:
        data["store"]["url"] = store_url
    write_config(workdir / "recon.toml", data)
    recon = Recon(workdir)
    recon.run("sandbox", "init", "--sage", data["sage"]["url"], "--config", str(recon.config))
    assert sum(recon.json("ingest")["appended"].values()) > 300
    return recon


def names(recon: Recon) -> dict[str, list[str]]:
    """Names the store must hold somewhere: customers and vendors (as recon posted them to
    the Sage sandbox, from ServiceTrade and PartsLedger) and technicians (recon.toml maps
    them to employees; their labor records carry them)."""
    with sqlite3.connect(recon.workdir / "sage.db") as sage:
        clients = [r[0] for r in sage.execute("SELECT clnnme FROM reccln")]
        vendors = [r[0] for r in sage.execute("SELECT vndnme FROM actpay")]
    config = tomllib.loads(recon.config.read_text())
    technicians = list(config["mapping"]["employees"])
    assert clients and vendors and technicians
    return {"customers": clients, "vendors": vendors, "technicians": technicians}


def store_bytes(workdir: Path) -> bytes:
    """The SQLite store's files as they lie on disk, the write-ahead log checkpointed first."""
    with sqlite3.connect(workdir / "recon.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = sorted(workdir.glob("recon.db*"))
    assert files
    return b"".join(f.read_bytes() for f in files)


def found_in(held: bytes | str, wanted: dict[str, list[str]]) -> dict[str, list[str]]:
    def has(name: str) -> bool:
        return name.encode() in held if isinstance(held, bytes) else name in held

    return {kind: [n for n in found if has(n)] for kind, found in wanted.items()}


def apply(recon: Recon) -> dict[str, Any]:
    code, result = recon.reconcile("--apply")
    assert code == 1 and result["remaining"] == []
    return result


def test_an_encrypted_store_holds_no_name_in_the_clear(tmp_path: Path) -> None:
    recon = world(tmp_path / "sealed", new_key())
    apply(recon)
    assert recon.reconcile()[0] == 0
    status = recon.json("status")
    assert status["events"] > 300 and status["postings"]["confirmed"] > 0
    wanted = names(recon)
    held = store_bytes(recon.workdir)
    assert found_in(held, wanted) == {kind: [] for kind in wanted}

    plain = world(tmp_path / "plain", None)  # the same world without a key: every name is there
    apply(plain)
    held = store_bytes(plain.workdir)
    assert found_in(held, names(plain)) == names(plain)


def test_a_wrong_or_missing_key_is_refused_in_one_line(tmp_path: Path) -> None:
    recon = world(tmp_path, new_key())
    text = recon.config.read_text()
    key = tomllib.loads(text)["store"]["cipher_key"]
    recon.config.write_text(text.replace(key, new_key()))
    result = recon.run("status", "--config", str(recon.config), check=2)
    assert result.stderr.startswith(f"recon: {WRONG_KEY}") and result.stderr.count("\n") == 1
    recon.config.write_text(text.replace(f'cipher_key = "{key}"', ""))
    result = recon.run("ingest", "--config", str(recon.config), check=2)
    assert "store.cipher_key is not set" in result.stderr and result.stderr.count("\n") == 1
    recon.config.write_text(text.replace(key, "not a key"))
    result = recon.run("status", "--config", str(recon.config), check=2)
    assert "store.cipher_key: expected base64 of 16, 24 or 32" in result.stderr
    assert "not a key" not in result.stderr


def test_rotating_the_key_copies_the_store_under_the_new_one(tmp_path: Path) -> None:
    recon = world(tmp_path, new_key())
    apply(recon)
    before = recon.json("status")
    text = recon.config.read_text()
    old_key = tomllib.loads(text)["store"]["cipher_key"]
    rotated = tmp_path / "recon-rotated.toml"
    rotated.write_text(text.replace(old_key, new_key()).replace("recon.db", "recon-rotated.db"))
    copied = subprocess.run(
        [sys.executable, "-m", "cli", "store", "rekey", "--config", str(recon.config),
         "--to", str(rotated)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert f"copied {before['events']} events" in copied.stdout
    after = Recon(tmp_path)
    after.config = rotated
    status = after.json("status")
    assert {k: status[k] for k in ("events", "sources", "modules", "postings")} == {
        k: before[k] for k in ("events", "sources", "modules", "postings")
    }
    assert after.reconcile()[0] == 0
    with_old_key = tmp_path / "old-key.toml"
    with_old_key.write_text(text.replace("recon.db", "recon-rotated.db"))
    result = recon.run("status", "--config", str(with_old_key), check=2)
    assert WRONG_KEY in result.stderr


@pytest.mark.postgres
def test_an_encrypted_postgresql_store_holds_no_name_in_its_tables(
    tmp_path: Path, postgres_url: str
) -> None:
    recon = world(tmp_path, new_key(), store_url=postgres_url)
    apply(recon)
    wanted = names(recon)
    engine = create_engine("postgresql+psycopg" + postgres_url[postgres_url.index(":") :])
    try:
        with engine.connect() as conn:
            held = [
                str(row)
                for table in inspect(engine).get_table_names()
                for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"')
            ]
    finally:
        engine.dispose()
    assert len(held) > 300
    assert found_in("\n".join(held), wanted) == {kind: [] for kind in wanted}
