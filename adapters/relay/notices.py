"""The relay stream as the change-notice port the sync agent reads (domain.ports.ChangeNotices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.relay.client import RelayConnection
from domain.ports import ChangeNotice
from domain.source import SERVICETRADE

#: ServiceTrade's webhook entity types and recon's kinds share their names (reference §7.2).
SYSTEM = SERVICETRADE


class RelayNotices:
    """ServiceTrade's webhook notices as the relay forwards them: acknowledged by sequence."""

    def __init__(self, connection: RelayConnection) -> None:
        self.connection = connection

    def take(self, timeout: float) -> Sequence[ChangeNotice]:
        return [
            ChangeNotice(
                seq=notice.seq,
                system=SYSTEM,
                kind=notice.entity_type,
                source_id=notice.entity_id,
                action=notice.action,
                timestamp=notice.timestamp,
            )
            for notice in self.connection.take(timeout)
        ]

    def ack(self, seq: int) -> None:
        self.connection.ack(seq)

    def gaps(self) -> int:
        return self.connection.gaps()

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.connection.state,
            "last_acked": self.connection.last_acked,
            "last_error": self.connection.last_error,
        }
