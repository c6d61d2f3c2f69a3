"""Progress on stderr for long work (a first sync, a replay, posting), shown on a terminal only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from domain.documents import Document
    from domain.ports import EventLog, Imported, PostingSink, SourceFeed, StoredEvent, Written

Advance = Callable[..., None]


def _quiet(*_args: Any, **_kwargs: Any) -> None:
    return None


class Meter:
    """Progress bars on ``console`` (default: stderr) when it is a terminal; when it is not
    (a pipe, a file, a test), nothing at all."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        return self._console

    @property
    def shown(self) -> bool:
        return self.console.is_terminal

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Advance]:
        """A bar (or, without ``total``, a count) for one piece of work; yields
        ``advance(n=1, total=None)``. The bar is removed when the work ends."""
        if not self.shown:
            yield _quiet
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        with progress:
            task = progress.add_task(description, total=total)

            def advance(n: int = 1, total: int | None = None) -> None:
                if total is not None:
                    progress.update(task, total=total)
                progress.advance(task, n)

            yield advance


class MeteredFeed:
    """A source feed whose pages count on a meter: every fetch (``recon ingest``), or only a
    kind's first, whole fetch (``first_only``: the first sync)."""

    def __init__(self, feed: SourceFeed, meter: Meter, *, first_only: bool = False) -> None:
        self.feed = feed
        self.meter = meter
        self.first_only = first_only
        self.system = feed.system

    def pages(self, kind: str, updated_after: int | None) -> Iterator[list[dict[str, Any]]]:
        if self.first_only and updated_after is not None:
            yield from self.feed.pages(kind, updated_after)
            return
        with self.meter.task(f"{self.system}/{kind} records") as advance:
            for page in self.feed.pages(kind, updated_after):
                advance(len(page))
                yield page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.feed, name)

    def __str__(self) -> str:
        return str(self.feed)


def metered_feeds(
    feeds: Iterable[SourceFeed], meter: Meter, *, first_only: bool = False
) -> list[SourceFeed]:
    if not meter.shown:
        return list(feeds)
    wrapped: list[Any] = [MeteredFeed(feed, meter, first_only=first_only) for feed in feeds]
    return wrapped


class MeteredLog:
    """The event log a rebuild reads, its position shown against the end of the log."""

    def __init__(self, log: EventLog, advance: Advance) -> None:
        self.log = log
        self.advance = advance
        self.at = 0

    def read(self, after: int, limit: int) -> Sequence[StoredEvent]:
        page = self.log.read(after, limit)
        if page and page[-1].position > self.at:
            self.advance(page[-1].position - self.at)
            self.at = page[-1].position
        return page

    def max_position(self) -> int:
        return self.log.max_position()


class MeteredSink:
    """A posting sink whose writes count against what was staged."""

    def __init__(self, sink: PostingSink, meter: Meter) -> None:
        self.sink = sink
        self.meter = meter
        self.name = sink.name
        self.staged = 0

    def stage(
        self,
        posting_id: str,
        action: str,
        module: str,
        document: Document | None,
        refs: Sequence[int | str] = (),
        *,
        key: str | None = None,
    ) -> None:
        self.sink.stage(posting_id, action, module, document, refs, key=key)
        self.staged += 1

    def flush(self, needed: Callable[[str], bool] | None = None) -> Iterable[Written]:
        flushed = self.sink.flush() if needed is None else self.sink.flush(needed)
        with self.meter.task("postings written to Sage", total=self.staged) as advance:
            for written in flushed:
                advance()
                yield written
        self.staged = 0

    def written(self, posting_id: str) -> str | None:
        return self.sink.written(posting_id)

    def imported(self, posting_id: str) -> Imported | None:
        return self.sink.imported(posting_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sink, name)
