"""`recon store new-key` and `recon store rekey`: the key the store is encrypted with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import ConfigOption, fail, load

app = typer.Typer(help="The event store's encryption key (store.cipher_key).", no_args_is_help=True)


@app.command("new-key")
def new_key() -> None:
    """Print a new store.cipher_key (32 random bytes, base64): keep it apart from the store."""
    from projections.sealing import new_key as make

    typer.echo(make())


@app.command()
def rekey(
    config: ConfigOption = Path("recon.toml"),
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="recon.toml naming the new, empty store (store.url) and its store.cipher_key.",
        ),
    ] = Path("recon-new.toml"),
) -> None:
    """Copy the store into a new one under another key (or none): every event re-encrypted,
    the ingest cursors carried over, the projections rebuilt. The old store is left as it was."""
    from adapters.store import StoreConfigError
    from cli.bootstrap import copy_store

    source, target = load(config), load(to)
    if source.store_url == target.store_url:
        raise fail(f"{to}: store.url names the store being copied; name a new, empty one")
    try:
        copied = copy_store(source, target)
    except StoreConfigError as exc:
        raise fail(f"{to}: {exc}; give an empty store") from exc
    typer.echo(f"copied {copied} events into the store of {to}")
