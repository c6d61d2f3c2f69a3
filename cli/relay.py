"""`recon relay`: the public webhook relay that forwards ServiceTrade webhooks to agents."""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import EXIT_ERROR, fail

if TYPE_CHECKING:
    from adapters.relay.server import RelayHandle

#: Exit code when the relay could not run (cannot bind, cannot open the store).
EXIT_CANNOT_RUN = 3
TOKENS_ENV = "RECON_RELAY_AGENT_TOKENS"
SECRET_ENV = "RECON_RELAY_HOOK_SECRET"
STORE_ENV = "RECON_RELAY_STORE"
DEFAULT_STORE = "sqlite:///relay.db"
DEFAULT_HOOK_PORT = 8780
DEFAULT_AGENT_PORT = 8781
#: The command-line option of each setting a RelayConfigError can name.
OPTIONS = {
    "store_url": "--store",
    "agent_tokens": "--agent-token",
    "hook_secret": "--hook-secret",
    "certfile": "--certfile",
    "keyfile": "--keyfile",
    "backlog": "--backlog",
    "ping_interval": "--ping-interval",
}

_HELP = (
    "The webhook relay: receives ServiceTrade webhooks on a public URL, keeps them, and forwards "
    "them to agents over a WebSocket the agents open."
)
app = typer.Typer(help=_HELP, no_args_is_help=True)


@app.callback()
def relay() -> None:
    """The webhook relay: receives ServiceTrade webhooks on a public URL, keeps them, and
    forwards them to agents over a WebSocket the agents open."""


def parse_agent_tokens(options: list[str], env: str | None) -> dict[str, str]:
    """``{token: agent name}`` from ``NAME=TOKEN`` options and the comma-separated variable
    (never echoing a token back)."""
    entries = [(OPTIONS["agent_tokens"], option) for option in options]
    entries += [(TOKENS_ENV, item.strip()) for item in (env or "").split(",") if item.strip()]
    tokens: dict[str, str] = {}
    for source, entry in entries:
        name, equals, token = entry.partition("=")
        name, token = name.strip(), token.strip()
        if not equals or not name or not token:
            raise fail(f"{source}: expected NAME=TOKEN, got an entry without a name or token")
        if token in tokens:
            raise fail(f"{source}: agents {tokens[token]!r} and {name!r} have the same token")
        tokens[token] = name
    return tokens


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _announce(handle: RelayHandle, store: str, backlog: int, *, show_hook: bool) -> None:
    hook_url, hook_path = handle.hook_url, handle.hook_path
    if not show_hook:  # the path is the webhook's only protection: not in logs
        hook_url = hook_url.replace(handle.hook_secret, "***")
        hook_path = hook_path.replace(handle.hook_secret, "***")
    typer.echo("recon relay: listening")
    typer.echo(f"  webhooks:  {hook_url}")
    typer.echo(
        f"             register https://<public host>{hook_path} as the ServiceTrade "
        "webhook URL, with your public https origin (a reverse proxy terminating TLS) in front "
        f"of port {handle.hook_port}; keep the path secret, it is the webhook's only protection"
        + ("" if show_hook else " (run once with --show-hook-url to see it)")
    )
    typer.echo(f"  agents:    {handle.agent_url}  ({', '.join(handle.agent_names)})")
    typer.echo(f"  store:     {store}  (backlog {backlog} notices)")
    typer.echo("Stop with Ctrl-C or SIGTERM.")


@app.command("serve")
def serve_command(
    store: Annotated[
        str,
        typer.Option(
            envvar=STORE_ENV,
            help="Where webhooks are kept: sqlite:///path/relay.db or postgresql://user:pw@host/db.",
        ),
    ] = DEFAULT_STORE,
    host: Annotated[str, typer.Option(help="Interface both listeners bind.")] = "127.0.0.1",
    hook_port: Annotated[
        int, typer.Option("--hook-port", help="Port of the webhook listener; 0 picks a free one.")
    ] = DEFAULT_HOOK_PORT,
    agent_port: Annotated[
        int, typer.Option("--agent-port", help="Port of the agents' WebSocket; 0 picks a free one.")
    ] = DEFAULT_AGENT_PORT,
    agent_token: Annotated[
        list[str] | None,
        typer.Option(
            "--agent-token",
            help=f"NAME=TOKEN, once per agent (or {TOKENS_ENV}='name=token,name2=token2').",
        ),
    ] = None,
    hook_secret: Annotated[
        str | None,
        typer.Option(
            "--hook-secret",
            envvar=SECRET_ENV,
            help="Secret path of the webhook URL (32+ URL-safe characters); "
            "by default one is generated once and kept in the store.",
            show_default=False,
        ),
    ] = None,
    certfile: Annotated[
        str | None, typer.Option(help="PEM certificate: both listeners speak TLS.")
    ] = None,
    keyfile: Annotated[
        str | None, typer.Option(help="PEM private key, if not in the certificate file.")
    ] = None,
    backlog: Annotated[
        int, typer.Option(help="Notices kept; older ones are pruned (agents get a gap).")
    ] = 100_000,
    ping_interval: Annotated[
        float, typer.Option("--ping-interval", help="Seconds between keepalive pings to agents.")
    ] = 20.0,
    quiet: Annotated[bool, typer.Option(help="Log warnings and errors only.")] = False,
    show_hook_url: Annotated[
        bool,
        typer.Option(
            "--show-hook-url",
            help="Print the webhook URL with its secret path (to register it with "
            "ServiceTrade); without it the path is shown as ***.",
        ),
    ] = False,
) -> None:
    """Run the relay until SIGTERM or Ctrl-C."""
    import logging

    for option, port in (("--hook-port", hook_port), ("--agent-port", agent_port)):
        if not 0 <= port <= 65535:
            raise fail(f"{option}: expected a port 0-65535, got {port}")
    if backlog < 1:
        raise fail(f"--backlog: expected a whole number >= 1, got {backlog}")
    if ping_interval <= 0:
        raise fail(f"--ping-interval: expected seconds > 0, got {ping_interval}")
    tokens = parse_agent_tokens(agent_token or [], os.environ.get(TOKENS_ENV))
    if not tokens:
        raise fail(f"no agent tokens: give --agent-token NAME=TOKEN (or {TOKENS_ENV})")

    from adapters.relay.errors import RelayConfigError, RelayError
    from adapters.relay.server import serve
    from adapters.relay.store import redact

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    if certfile is None and not is_loopback(host):
        typer.echo(
            f"recon: warning: listening on {host} without --certfile: webhooks and agent "
            "traffic (tokens included) travel unencrypted unless a TLS proxy is in front",
            err=True,
        )
    try:
        serve(
            store,
            host=host,
            hook_port=hook_port,
            agent_port=agent_port,
            agent_tokens=tokens,
            hook_secret=hook_secret,
            certfile=certfile,
            keyfile=keyfile,
            backlog=backlog,
            ping_interval=ping_interval,
            on_ready=lambda handle: _announce(
                handle, redact(store), backlog, show_hook=show_hook_url
            ),
        )
    except RelayConfigError as exc:
        option = OPTIONS.get(exc.setting, exc.setting)
        raise fail(f"{option}: {exc.detail}", EXIT_ERROR) from exc
    except RelayError as exc:
        raise fail(str(exc), EXIT_CANNOT_RUN) from exc
    typer.echo("recon relay: stopped")
