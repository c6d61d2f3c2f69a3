"""`recon sandbox`: the Sage 100 Contractor sandbox (a SQLite copy of its tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import EXIT_ERROR, EXIT_UNAVAILABLE, ConfigOption, JsonOption, fail, load

app = typer.Typer(help="The Sage 100 Contractor sandbox (a SQLite copy of its tables).")

#: The database could not be reached, opened or logged in to (every command's exit 3).
EXIT_UNREACHABLE = EXIT_UNAVAILABLE


@app.command("init")
def sandbox_init(
    sage: Annotated[
        str | None,
        typer.Option(
            "--sage",
            help="sqlite:///sage.db, or postgresql://user:password@host/database (a database "
            "of its own). Default: the configuration's sage.url.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take accounts and districts from here.")
    ] = None,
    reset: Annotated[bool, typer.Option(help="Replace an existing sandbox.")] = False,
    brownfield: Annotated[
        bool,
        typer.Option(
            "--brownfield",
            help="A company with two years of history, locked periods and some of the "
            "embedded simulator's customers and invoices keyed in by hand.",
        ),
    ] = False,
) -> None:
    """Create a Sage 100 Contractor sandbox with its chart of accounts and tax districts:
    Sage's tables with the constraints and triggers of a real company database."""
    from adapters.sage.engine import parse_url
    from adapters.sage.errors import SageError
    from adapters.sage.sandbox import init_sandbox
    from cli.config import default_config, parse_config
    from cli.errors import sage_unreachable
    from domain.mapping import MappingError

    cfg = load(config) if config is not None else parse_config(default_config(Path.cwd()))
    url = sage if sage is not None else cfg.sage.url
    try:
        where = parse_url(url).render_as_string(hide_password=True)
        if brownfield:
            from cli import brownfield as company

            made, keyed = company.create(url, cfg, reset=reset)
        else:
            init_sandbox(url, cfg.mapping, reset=reset)
    except (SageError, MappingError, ValueError) as exc:
        # The database server did not answer: could not run; else the URL or config is wrong.
        raise fail(str(exc), EXIT_UNREACHABLE if sage_unreachable(exc) else EXIT_ERROR) from exc
    if brownfield:
        typer.echo(
            f"Sage brownfield company ready at {where}: history {made.history_from} to "
            f"{made.current_period}, locked through {made.locked_through}; "
            f"{len(keyed.history.customers)} ServiceTrade customers and "
            f"{len(keyed.history.invoices)} invoices keyed in by hand\n"
            f'in recon.toml: [sage] current_period = "{made.current_period}", '
            f'locked_through = "{made.locked_through}"'
        )
    else:
        typer.echo(f"Sage sandbox ready at {where}")


@app.command("import")
def sandbox_import(config: ConfigOption = Path("recon.toml")) -> None:
    """Import the files sink's pending batches into the sandbox, as Sage's import would."""
    from adapters.sage.engine import create_sage_engine
    from adapters.sage.errors import SageConfigError, SageError
    from adapters.sage.files_sink import import_batches

    cfg = load(config)
    if not cfg.sage.drop_folder:
        raise fail("sage.drop_folder is not set: there are no batches to import")
    try:
        engine = create_sage_engine(cfg.sage.url, app_name=cfg.sage.app_name)
    except SageConfigError as exc:
        raise fail(str(exc)) from exc
    except SageError as exc:  # no sandbox there, or it does not answer
        raise fail(str(exc), EXIT_UNREACHABLE) from exc
    try:
        imported = import_batches(Path(cfg.sage.drop_folder), engine, user=cfg.user)
    except SageConfigError as exc:
        raise fail(str(exc)) from exc
    except SageError as exc:
        raise fail(str(exc), EXIT_UNREACHABLE) from exc
    finally:
        engine.dispose()
    typer.echo(f"imported {len(imported)} batches: {', '.join(imported) or 'none pending'}")


@app.command("check")
def sandbox_check(
    sage: Annotated[
        str,
        typer.Option(
            "--sage",
            help="The company database (mssql+pyodbc://…), or a sandbox (sqlite:///…, "
            "postgresql://…).",
        ),
    ],
    app_name: Annotated[
        str, typer.Option("--app-name", help="The APP name recon sends (sage.app_name).")
    ] = "recon",
    as_json: JsonOption = False,
) -> None:
    """Before the first --apply: what the Sage database enforces that recon relies on.

    Reads only. Exit 0 when nothing blocks recon's writes, 1 when something does, 2 for a URL
    that cannot work, 3 when the database cannot be reached.
    """
    from adapters.sage.check import check_site, redact, render_text
    from adapters.sage.errors import SageConfigError, SageError, SageUnavailableError
    from cli.common import EXIT_FINDINGS, EXIT_OK, print_json

    try:
        result = check_site(sage, app_name=app_name)
    except SageConfigError as exc:
        raise fail(redact(str(exc), sage)) from exc
    except SageUnavailableError as exc:
        raise fail(redact(str(exc), sage), EXIT_UNREACHABLE) from exc
    except SageError as exc:
        raise fail(redact(str(exc), sage)) from exc
    if as_json:
        print_json(result.to_json())
    else:
        typer.echo(render_text(result))
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)
