"""`recon sandbox`: the Sage 100 Contractor sandbox (a SQLite copy of its tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import ConfigOption, fail, load

app = typer.Typer(help="The Sage 100 Contractor sandbox (a SQLite copy of its tables).")


@app.command("init")
def sandbox_init(
    sage: Annotated[str, typer.Option("--sage", help="SQLite URL, e.g. sqlite:///sage.db")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take accounts and districts from here.")
    ] = None,
    reset: Annotated[bool, typer.Option(help="Replace an existing sandbox.")] = False,
) -> None:
    """Create a Sage 100 Contractor sandbox with its chart of accounts and tax districts."""
    from adapters.sage.errors import SageError
    from adapters.sage.sandbox import init_sandbox
    from cli.config import default_config, parse_config

    mapping = (
        load(config).mapping
        if config is not None
        else parse_config(default_config(Path.cwd())).mapping
    )
    try:
        init_sandbox(sage, mapping, reset=reset)
    except SageError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Sage sandbox ready at {sage}")


@app.command("import")
def sandbox_import(config: ConfigOption = Path("recon.toml")) -> None:
    """Import the files sink's pending batches into the sandbox, as Sage's import would."""
    from adapters.sage.engine import create_sage_engine
    from adapters.sage.errors import SageError
    from adapters.sage.files_sink import import_batches

    cfg = load(config)
    if not cfg.sage.drop_folder:
        raise fail("sage.drop_folder is not set: there are no batches to import")
    engine = create_sage_engine(cfg.sage.url, app_name=cfg.sage.app_name)
    try:
        imported = import_batches(Path(cfg.sage.drop_folder), engine, user=cfg.user)
    except SageError as exc:
        raise fail(str(exc)) from exc
    finally:
        engine.dispose()
    typer.echo(f"imported {len(imported)} batches: {', '.join(imported) or 'none pending'}")
