"""The relay's sans-I/O core: webhook bodies in, the agent protocol's frames, resume positions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Longest values the store keeps (the dedupe key's columns).
MAX_MESSAGE_ID = 128
MAX_ENTITY_TYPE = 64
MAX_ENTITY_ID = 64
MAX_ACTION = 32
#: How many reasons a refusal quotes (a message can batch thousands of entries).
_REASONS_SHOWN = 3


@dataclass(frozen=True)
class Notice:
    """One entity event a webhook announced, with its place in the relay's sequence."""

    seq: int
    message_id: str
    entity_type: str
    entity_id: str
    action: str
    timestamp: int | None


@dataclass(frozen=True)
class Change:
    """One entity event of a webhook message, before the store gives it a seq."""

    message_id: str
    entity_type: str
    entity_id: str
    action: str
    timestamp: int | None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes a delivery a duplicate (reference §7.3)."""
        return (self.message_id, self.entity_type, self.entity_id, self.action)


@dataclass(frozen=True)
class Webhook:
    """A webhook message as the relay keeps it: its entity events and the entries left out."""

    message_id: str
    changes: tuple[Change, ...]
    skipped: tuple[str, ...]


class MalformedWebhook(ValueError):
    """A webhook body that is not the ServiceTrade delivery shape; the message says what came."""


class BadFrame(ValueError):
    """A frame that breaks the agent protocol; the message says what was expected."""


@dataclass(frozen=True)
class Hello:
    """Agent → relay, first frame: resume after this seq (None: after the stored ack)."""

    after: int | None


@dataclass(frozen=True)
class Ack:
    """Agent → relay: every notice up to and including ``seq`` is handled."""

    seq: int


@dataclass(frozen=True)
class Gap:
    """Relay → agent: notices after the agent's position are gone (pruned, or the relay's store
    started over when ``restart``); the agent polls everything. ``oldest`` is the first seq the
    relay still holds or will assign next."""

    oldest: int
    restart: bool = False


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if not stripped or len(stripped) > limit:
        return None
    return stripped


def _timestamp(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _change(message_id: str, index: int, entry: Any) -> Change | str:
    """An entry of ``data`` as a Change, or the reason it cannot be one."""
    where = f"data[{index}]"
    if not isinstance(entry, dict):
        return f"{where}: expected an object, got {type(entry).__name__}"
    action = _text(entry.get("action"), MAX_ACTION)
    if action is None:
        return f"{where}.action: expected a non-empty string, got {entry.get('action')!r:.40}"
    entity = entry.get("entity")
    if not isinstance(entity, dict):
        return f"{where}.entity: expected an object with type and id"
    entity_type = _text(entity.get("type"), MAX_ENTITY_TYPE)
    if entity_type is None or isinstance(entity.get("type"), int):
        return f"{where}.entity.type: expected a non-empty string, got {entity.get('type')!r:.40}"
    entity_id = _text(entity.get("id"), MAX_ENTITY_ID)
    if entity_id is None:
        return f"{where}.entity.id: expected an integer or string, got {entity.get('id')!r:.40}"
    return Change(message_id, entity_type, entity_id, action, _timestamp(entry.get("timestamp")))


def parse_webhook(body: bytes) -> Webhook:
    """A ServiceTrade webhook body (reference §7.2) as the changes it announces.

    Entries that are not entity events are left out with the reason (the rest is kept: a
    refused delivery is never resent); a body with no usable entry at all is malformed.
    """
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"expected a JSON body, got invalid JSON ({exc})") from exc
    if not isinstance(message, dict):
        raise MalformedWebhook(f"expected a JSON object, got {type(message).__name__}")
    message_id = _text(message.get("messageId"), MAX_MESSAGE_ID)
    if message_id is None or isinstance(message.get("messageId"), int):
        raise MalformedWebhook(
            f"messageId: expected a string of 1-{MAX_MESSAGE_ID} characters, "
            f"got {message.get('messageId')!r:.60}"
        )
    data = message.get("data")
    if not isinstance(data, list):
        raise MalformedWebhook(f"data: expected a list of entity events, got {data!r:.60}")
    changes: list[Change] = []
    skipped: list[str] = []
    for index, entry in enumerate(data):
        change = _change(message_id, index, entry)
        if isinstance(change, str):
            skipped.append(change)
        else:
            changes.append(change)
    if skipped and not changes:
        shown = "; ".join(skipped[:_REASONS_SHOWN])
        hidden = len(skipped) - _REASONS_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise MalformedWebhook(f"message {message_id}: no usable entity event: {shown}{more}")
    return Webhook(message_id, tuple(changes), tuple(skipped))


def _frame(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def encode_hello(after: int | None) -> str:
    return _frame({"type": "hello", "after": after})


def encode_ack(seq: int) -> str:
    return _frame({"type": "ack", "seq": seq})


def encode_notice(notice: Notice) -> str:
    return _frame(
        {
            "type": "notice",
            "seq": notice.seq,
            "messageId": notice.message_id,
            "entity": {"type": notice.entity_type, "id": notice.entity_id},
            "action": notice.action,
            "timestamp": notice.timestamp,
        }
    )


def encode_gap(gap: Gap) -> str:
    payload: dict[str, Any] = {"type": "gap", "oldest": gap.oldest}
    if gap.restart:
        payload["restart"] = True
    return _frame(payload)


def _seq(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadFrame(f"{name}: expected a seq (an integer >= 0), got {value!r:.40}")
    return value


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFrame(f"expected a JSON text frame ({exc})") from exc
    if not isinstance(frame, dict):
        raise BadFrame(f"expected a JSON object, got {type(frame).__name__}")
    return frame


def decode_agent_frame(text: str | bytes) -> Hello | Ack:
    """A frame an agent sent: hello or ack."""
    frame = _load(text)
    kind = frame.get("type")
    if kind == "hello":
        after = frame.get("after")
        return Hello(None if after is None else _seq(after, "hello.after"))
    if kind == "ack":
        return Ack(_seq(frame.get("seq"), "ack.seq"))
    raise BadFrame(f"type: expected 'hello' or 'ack', got {kind!r:.40}")


def decode_relay_frame(text: str | bytes) -> Notice | Gap | None:
    """A frame the relay sent: a notice, a gap, or None for a type this side does not know."""
    frame = _load(text)
    kind = frame.get("type")
    if kind == "gap":
        return Gap(_seq(frame.get("oldest"), "gap.oldest"), restart=frame.get("restart") is True)
    if kind != "notice":
        return None
    seq = _seq(frame.get("seq"), "notice.seq")
    entity = frame.get("entity")
    message_id = frame.get("messageId")
    action = frame.get("action")
    if not isinstance(entity, dict) or not all(
        isinstance(value, str) and value
        for value in (message_id, action, entity.get("type"), entity.get("id"))
    ):
        raise BadFrame(f"notice {seq}: expected messageId, action and entity type and id")
    timestamp = frame.get("timestamp")
    return Notice(
        seq,
        str(message_id),
        str(entity["type"]),
        str(entity["id"]),
        str(action),
        timestamp if isinstance(timestamp, int) and not isinstance(timestamp, bool) else None,
    )


@dataclass(frozen=True)
class Start:
    """Where a connection starts: notices after ``after``, announcing ``gap`` first if set."""

    after: int
    gap: Gap | None


def start_position(
    requested: int | None, stored: int | None, *, last: int, oldest: int | None
) -> Start:
    """Where an agent resumes: after the seq its hello asked for, else after its stored ack,
    else from the start of the backlog. A position beyond the relay's last seq means the store
    started over (a new file): the agent gets every retained notice after a restart gap.
    (A position that fell off the backlog is found by the reads, which see what was pruned.)"""
    after = requested if requested is not None else (stored if stored is not None else 0)
    if after > last:
        return Start(0, Gap(oldest if oldest is not None else last + 1, restart=True))
    return Start(after, None)


@dataclass
class Cursor:
    """The agent side's position: the highest seq handed to the caller and the highest acked.

    A seq at or below ``delivered`` is a repeat (the relay resends what was not acked after a
    reconnect) and is dropped, so the caller sees each seq once."""

    delivered: int
    acked: int | None

    @classmethod
    def resuming(cls, after: int | None) -> Cursor:
        return cls(after if after is not None else -1, after)

    def accept(self, notice: Notice) -> bool:
        """Whether ``notice`` is new to the caller (and now counted as delivered)."""
        if notice.seq <= self.delivered:
            return False
        self.delivered = notice.seq
        return True

    def ack(self, seq: int) -> bool:
        """Record the caller's cumulative ack; whether it moved the position."""
        if seq > self.delivered:
            raise ValueError(f"cannot ack seq {seq}: the highest seq delivered is {self.delivered}")
        if self.acked is not None and seq <= self.acked:
            return False
        self.acked = seq
        return True

    def on_gap(self, gap: Gap) -> None:
        """A restart gap renumbers the relay's sequence: start over from its beginning (the relay
        resends every notice it holds; the next hello leaves the position to the relay)."""
        if gap.restart:
            self.delivered = 0
            self.acked = None
