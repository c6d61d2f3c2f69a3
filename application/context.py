"""What every use case works with: the event store, the read model, the mapping, the posting
policy and Sage's periods, and the ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.mapping import Mapping
from domain.policy import DEFAULT_POLICY, NO_PERIODS, Periods, Policy
from domain.ports import EventStore, PostingSink, SageReader
from projections.readmodel import ReadModel

#: Called with a step's name at each crash point of a posting (tests kill the process there).
Fault = Callable[[str], None]


def no_fault(_step: str) -> None:
    return None


class NotConfigured(RuntimeError):
    """A use case needs a port the command was not given (a bug in the composition root)."""


@dataclass
class Context:
    store: EventStore
    read_model: ReadModel
    mapping: Mapping
    reader: SageReader | None = None
    sink: PostingSink | None = None
    fault: Fault = no_fault
    policy: Policy = DEFAULT_POLICY  # what posts without a person
    periods: Periods = NO_PERIODS  # Sage's current period and locks (none known: none locked)

    def catch_up(self) -> int:
        """Bring the read model up to the end of the log; returns events applied."""
        return self.read_model.catch_up(self.store)

    def sage(self) -> SageReader:
        if self.reader is None:
            raise NotConfigured("this command reads no Sage company")
        return self.reader

    def posting_sink(self) -> PostingSink:
        if self.sink is None:
            raise NotConfigured("this command posts to no Sage company")
        return self.sink
