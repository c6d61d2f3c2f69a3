"""`recon sync`: the agent beside Sage, running until SIGTERM or Ctrl-C (docs/sync.md)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO
from urllib.parse import unquote, urlsplit

import typer

from cli.common import EXIT_OK, EXIT_UNAVAILABLE, ConfigOption, fail, load, secrets_of

if TYPE_CHECKING:
    from application.context import Context
    from cli.config import Config
    from domain.ports import ChangeNotices

#: SIGTERM must end the agent within 10 s: it stops taking new work at once, and if the
#: posting in hand has not finished after this long it exits anyway. That is safe: every
#: posting is recorded before and after it is written, and the next start carries it on.
STOP_DEADLINE = 8.5
LOG_FORMATS = ("text", "json")


def sync(
    config: ConfigOption = Path("recon.toml"),
    once: Annotated[bool, typer.Option("--once", help="Run one cycle, then exit.")] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text (default) or json (one object per line).")
    ] = "text",
) -> None:
    """Keep Sage in step continuously, until SIGTERM (docs/sync.md).

    Each cycle takes ServiceTrade's change notices from the relay, polls both sources as a
    backstop, posts what is approved and writes back to ServiceTrade."""
    if log_format not in LOG_FORMATS:
        raise typer.BadParameter(
            f"{log_format!r}: expected text or json", param_hint="--log-format"
        )
    cfg = load(config)
    log = Logger(log_format, secrets_of(cfg))
    stopping = threading.Event()
    _on_stop_signals(stopping, log)
    errors = _run(cfg, stopping, log, once=once)
    if once and errors:
        # One cycle that could not do all its work: say so as every command does (exit 3).
        parts = "; ".join(f"{part}: {error}" for part, error in errors.items())
        raise fail(f"sync --once could not complete its cycle: {parts}", EXIT_UNAVAILABLE)
    raise typer.Exit(EXIT_OK)


def _run(cfg: Config, stopping: threading.Event, log: Logger, *, once: bool) -> dict[str, str]:
    """Run the agent until told to stop (with ``once``, one cycle); returns what the last
    cycle could not reach (part -> error)."""
    from adapters.sage.errors import SageError
    from application.sync import WEBHOOK, Agent, SyncSettings, register_webhook
    from cli.bootstrap import SOURCE_ERRORS, sources

    settings = SyncSettings(
        poll_interval=float(cfg.sync.poll_interval_seconds),
        backoff_max=float(cfg.sync.backoff_max_seconds),
    )
    with ExitStack() as stack:
        opened = stack.enter_context(sources(cfg, live=not once))
        if opened.simulator is not None:
            log("simulator", url=opened.simulator.base_url, pace=cfg.servicetrade.simulator.pace)
        notices, hook_url = _relay(cfg, stack, log)
        ctx = _open(cfg, stack, stopping, log, settings, once=once)
        if ctx is None:
            return {}
        previous = ctx.read_model.sync_state().get(WEBHOOK)

        def register() -> dict[str, Any]:
            assert hook_url is not None
            hook, done = register_webhook(opened.servicetrade, hook_url, _pushed(), previous)
            log("webhook", action=done, id=hook.get("id"), hook_url=hook_url)
            return {"id": hook.get("id"), "hookUrl": hook_url, "registered": True}

        from cli.progress import Meter, metered_feeds

        agent = Agent(
            ctx,
            metered_feeds(opened.feeds, Meter(), first_only=True),  # a first sync's progress
            notices=notices,
            writer=opened.servicetrade if cfg.servicetrade.writeback else None,
            posting_turn=_posting_turn(cfg),
            settings=settings,
            source_errors=SOURCE_ERRORS,
            sage_errors=(SageError,),
            overlap=cfg.servicetrade.overlap_seconds,
            register=register if hook_url is not None else None,
            log=log,
        )
        try:
            agent.run(stopping, once=once)
        finally:
            agent.stopped()
        return dict((agent.last_cycle or {}).get("errors") or {})


def _pushed() -> tuple[str, ...]:
    from domain.source import SERVICETRADE, SOURCE_KINDS

    return SOURCE_KINDS[SERVICETRADE]


def _open(
    cfg: Config,
    stack: ExitStack,
    stopping: threading.Event,
    log: Logger,
    settings: Any,
    *,
    once: bool = False,
) -> Context | None:
    """The context with Sage; while Sage cannot be reached, say so and try again (doubling
    waits, to the cap) until it can or the agent is told to stop. With ``once`` there is no
    second try: the error ends the command (exit 3)."""
    from adapters.sage.errors import SageError
    from cli.bootstrap import context

    delay = settings.backoff_start
    while not stopping.is_set():
        try:
            return stack.enter_context(context(cfg))
        except SageError as exc:
            if once:
                raise
            log("unavailable", part="sage", error=f"{type(exc).__name__}: {exc}",
                retry_in_seconds=delay)  # fmt: skip
            _note_waiting(cfg, f"{type(exc).__name__}: {exc}")
            stopping.wait(delay)
            delay = min(delay * 2, settings.backoff_max)
    return None


def _note_waiting(cfg: Config, error: str) -> None:
    """Say in the store, for `recon status`, that the agent waits for Sage to answer."""
    from application.sync import AGENT
    from application.times import utc_text
    from cli.bootstrap import context

    with context(cfg, with_sage=False) as ctx:
        ctx.read_model.note_sync(
            {
                AGENT: {
                    "running": True,
                    "updated": utc_text(time.time()),
                    "health": {"sage": {"ok": False, "error": error}},
                }
            }
        )


def _posting_turn(cfg: Config) -> Any:
    """The writer lease, taken for each cycle's posting (so `recon approve` and friends get
    their turn between cycles); held by another recon, the cycle posts nothing this time."""
    from adapters.lease import LeaseHeld, acquire_lease
    from application.sync import Busy

    @contextmanager
    def turn() -> Iterator[None]:
        try:
            lease = acquire_lease(cfg.store_url, cfg.sage.url, "sync", wait=False)
        except LeaseHeld as exc:
            raise Busy(str(exc)) from None
        with lease:
            yield

    return turn


def _relay(cfg: Config, stack: ExitStack, log: Logger) -> tuple[ChangeNotices | None, str | None]:
    """The change notices and the webhook URL to register: from a relay run here on loopback
    (embedded), from a remote relay, or none (polling only)."""
    relay = cfg.relay
    if relay.mode == "off":
        log("relay", mode="off", detail="polling only")
        return None, None
    import secrets

    from adapters.relay.client import RelayConnection
    from adapters.relay.notices import RelayNotices

    if relay.mode == "remote":
        url, token, hook_url = relay.url, relay.token, relay.hook_url
    else:
        from adapters.relay.server import run_relay

        token = secrets.token_urlsafe(32)
        running = stack.enter_context(
            run_relay(
                relay.store or _beside_store(cfg.store_url, cfg.path),
                host="127.0.0.1",
                hook_port=relay.hook_port,
                agent_tokens={token: "embedded"},
            )
        )
        url, hook_url = running.agent_url, running.hook_url
    log.hide(urlsplit(hook_url).path.rstrip("/").rsplit("/", 1)[-1])  # the unguessable part
    # The relay keeps each agent's last acknowledged notice and resumes after it.
    connection = RelayConnection(url, token, ca_file=relay.ca_file or None)
    connection.start()
    stack.callback(connection.close)
    log("relay", mode=relay.mode, url=url)
    return RelayNotices(connection), hook_url


def _beside_store(store_url: str, config_path: Path | None) -> str:
    """The embedded relay's SQLite store: relay.db beside a SQLite event store, else beside
    recon.toml."""
    parts = urlsplit(store_url)
    if parts.scheme == "sqlite" and parts.path:
        return f"sqlite:///{Path(unquote(parts.path)).parent / 'relay.db'}"
    folder = config_path.parent if config_path is not None else Path.cwd()
    return f"sqlite:///{folder.resolve() / 'relay.db'}"


def _on_stop_signals(stopping: threading.Event, log: Logger) -> None:
    """SIGTERM and SIGINT (Ctrl-C; Ctrl-Break on Windows) stop the agent: no new work, the
    posting in hand finishes, exit 0; after STOP_DEADLINE seconds it exits regardless."""

    def on_signal(number: int, _frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log("stopping", signal=signal.Signals(number).name)
        threading.Thread(target=_deadline, args=(log,), daemon=True).start()

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, on_signal)


def _deadline(log: Logger) -> None:
    time.sleep(STOP_DEADLINE)
    log(
        "stopped", detail="the posting in hand did not finish in time; the next start carries it on"
    )
    sys.stderr.flush()
    os._exit(EXIT_OK)


# --- logs ---------------------------------------------------------------------------------


class Logger:
    """Log lines on stderr: ``2026-12-02T07:31:02Z cycle …`` or one JSON object per line,
    every configured secret replaced by ***."""

    def __init__(self, form: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
        self.form = form
        self.secrets = sorted(set(secrets), key=len, reverse=True)
        self.stream = stream
        self.lock = threading.Lock()

    def hide(self, secret: str) -> None:
        """Never write ``secret`` either (a relay's webhook path)."""
        if len(secret) >= 4:
            self.secrets = sorted({*self.secrets, secret}, key=len, reverse=True)

    def __call__(self, event: str, **fields: Any) -> None:
        from application.times import utc_text

        at = utc_text(time.time())
        if self.form == "json":
            line = json.dumps({"ts": at, "event": event, **fields}, default=str)
        else:
            line = f"{at} {event}: {_human(event, fields)}"
        for secret in self.secrets:
            line = line.replace(secret, "***")
        with self.lock:
            stream = self.stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()


def _human(event: str, fields: dict[str, Any]) -> str:
    if event == "cycle":
        parts = []
        if fields.get("notices"):
            parts.append(f"{fields['notices']} notices")
        if fields.get("polled"):
            parts.append("polled " + ", ".join(fields["polled"]))
        recorded = fields.get("recorded") or {}
        if recorded:
            parts.append("recorded " + ", ".join(f"{k} {n}" for k, n in recorded.items()))
        deleted = fields.get("deleted") or {}
        if deleted:
            parts.append("deleted " + ", ".join(f"{k} {n}" for k, n in deleted.items()))
        if fields.get("reconciled"):
            posted = fields.get("posted") or {}
            parts.append(
                f"{fields['findings']} findings, {posted.get('confirmed', 0)} posted, "
                f"{posted.get('failed', 0)} failed"
            )
        if fields.get("waiting_for_approval"):
            parts.append(f"{fields['waiting_for_approval']} wait for approval")
        written = fields.get("written_back") or {}
        if written:
            parts.append("ServiceTrade " + ", ".join(f"{k} {n}" for k, n in written.items()))
        for part, error in (fields.get("errors") or {}).items():
            parts.append(f"{part} unavailable ({error})")
        return "; ".join(parts) or "nothing new"
    if event == "unavailable":
        return (
            f"{fields['part']} unavailable: {fields['error']}; "
            f"trying again in {fields['retry_in_seconds']} s"
        )
    return ", ".join(f"{key} {value}" for key, value in fields.items() if value is not None)
