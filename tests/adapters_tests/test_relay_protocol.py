"""The relay's sans-I/O core: webhook bodies, frames, resume positions and the agent's cursor."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.relay.protocol import (
    Ack,
    BadFrame,
    Change,
    Cursor,
    Gap,
    Hello,
    MalformedWebhook,
    Notice,
    decode_agent_frame,
    decode_relay_frame,
    encode_ack,
    encode_gap,
    encode_hello,
    encode_notice,
    parse_webhook,
    start_position,
)


def body(message: Any) -> bytes:
    return json.dumps(message).encode()


def entry(entity_id: Any = 42, action: str = "updated", **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "timestamp": 1_700_000_000,
        "userId": None,
        "entity": {"type": "invoice", "id": entity_id, "uri": "https://x/invoice/42"},
        "changeset": [],
        **extra,
    }


def test_a_delivery_becomes_one_change_per_entity_event() -> None:
    webhook = parse_webhook(
        body(
            {
                "messageId": "m-1",
                "timestamp": "1700000000",
                "data": [entry(42), entry("43", "deleted", timestamp="1700000001")],
            }
        )
    )
    assert webhook.message_id == "m-1"
    assert webhook.changes == (
        Change("m-1", "invoice", "42", "updated", 1_700_000_000),
        Change("m-1", "invoice", "43", "deleted", 1_700_000_001),
    )
    assert webhook.skipped == ()


def test_a_missing_or_odd_timestamp_is_kept_as_none() -> None:
    webhook = parse_webhook(body({"messageId": "m", "data": [entry(timestamp=None), entry(7)]}))
    assert webhook.changes[0].timestamp is None
    webhook = parse_webhook(body({"messageId": "m", "data": [entry(timestamp="soon")]}))
    assert webhook.changes[0].timestamp is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (body([1, 2]), "JSON object"),
        (body({"data": []}), "messageId"),
        (body({"messageId": "", "data": []}), "messageId"),
        (body({"messageId": 12, "data": []}), "messageId"),
        (body({"messageId": "m"}), "data"),
        (body({"messageId": "m", "data": {"a": 1}}), "data"),
        (body({"messageId": "m", "data": [{"action": "updated"}]}), "entity"),
        (body({"messageId": "m", "data": [entry(None)]}), "entity.id"),
        (body({"messageId": "m", "data": [entry(True)]}), "entity.id"),
        (body({"messageId": "m", "data": [entry(action="")]}), "action"),
        (body({"messageId": "m", "data": ["x"]}), "expected an object"),
    ],
)
def test_a_body_that_is_not_the_delivery_shape_is_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedWebhook, match=reason):
        parse_webhook(raw)


def test_unusable_entries_are_left_out_with_the_reason_and_the_rest_kept() -> None:
    webhook = parse_webhook(
        body({"messageId": "m", "data": [entry(1), {"action": "updated"}, entry(2)]})
    )
    assert [change.entity_id for change in webhook.changes] == ["1", "2"]
    assert len(webhook.skipped) == 1
    assert webhook.skipped[0].startswith("data[1].entity")


def test_an_empty_message_is_well_formed_and_announces_nothing() -> None:
    assert parse_webhook(body({"messageId": "m", "data": []})).changes == ()


def test_the_dedupe_key_is_message_entity_and_action() -> None:
    one = Change("m", "invoice", "1", "updated", 1)
    assert one.key == Change("m", "invoice", "1", "updated", 99).key
    assert one.key != Change("m", "invoice", "1", "deleted", 1).key
    assert one.key != Change("n", "invoice", "1", "updated", 1).key


def test_frames_round_trip() -> None:
    notice = Notice(7, "m", "invoice", "42", "created", None)
    assert decode_relay_frame(encode_notice(notice)) == notice
    assert decode_relay_frame(encode_gap(Gap(5))) == Gap(5)
    assert decode_relay_frame(encode_gap(Gap(1, restart=True))) == Gap(1, restart=True)
    assert decode_agent_frame(encode_hello(None)) == Hello(None)
    assert decode_agent_frame(encode_hello(12)) == Hello(12)
    assert decode_agent_frame(encode_ack(3)) == Ack(3)
    assert json.loads(encode_notice(notice)) == {
        "type": "notice",
        "seq": 7,
        "messageId": "m",
        "entity": {"type": "invoice", "id": "42"},
        "action": "created",
        "timestamp": None,
    }


@pytest.mark.parametrize(
    "frame",
    [
        "nope",
        "[]",
        '{"type": "hello", "after": -1}',
        '{"type": "hello", "after": "3"}',
        '{"type": "ack"}',
        '{"type": "ack", "seq": true}',
        '{"type": "notice", "seq": 1}',
    ],
)
def test_an_agent_frame_that_breaks_the_protocol_is_refused(frame: str) -> None:
    with pytest.raises(BadFrame):
        decode_agent_frame(frame)


def test_the_agent_ignores_frame_types_it_does_not_know_and_refuses_broken_notices() -> None:
    assert decode_relay_frame('{"type": "welcome"}') is None
    with pytest.raises(BadFrame):
        decode_relay_frame('{"type": "notice", "seq": 1, "entity": {}}')


def test_an_agent_resumes_after_its_hello_else_its_stored_ack_else_from_the_start() -> None:
    assert start_position(5, 9, last=20, oldest=1).after == 5
    assert start_position(None, 9, last=20, oldest=1).after == 9
    assert start_position(None, None, last=20, oldest=1).after == 0
    assert start_position(20, None, last=20, oldest=1).gap is None


def test_a_position_beyond_the_last_seq_means_the_store_started_over() -> None:
    assert start_position(50, None, last=20, oldest=3) == start_position(
        None, 50, last=20, oldest=3
    )
    start = start_position(50, None, last=20, oldest=3)
    assert (start.after, start.gap) == (0, Gap(3, restart=True))
    assert start_position(50, None, last=0, oldest=None).gap == Gap(1, restart=True)


def test_the_cursor_hands_each_seq_over_once() -> None:
    cursor = Cursor.resuming(None)
    seen = [
        n.seq
        for n in (Notice(s, "m", "t", str(s), "updated", None) for s in (1, 2, 3, 2, 3, 4, 1))
        if cursor.accept(n)
    ]
    assert seen == [1, 2, 3, 4]


def test_the_cursor_acks_cumulatively_and_only_what_it_delivered() -> None:
    cursor = Cursor.resuming(10)
    assert (cursor.delivered, cursor.acked) == (10, 10)
    assert not cursor.accept(Notice(10, "m", "t", "1", "updated", None))
    assert cursor.accept(Notice(11, "m", "t", "1", "updated", None))
    assert cursor.ack(11) is True
    assert cursor.ack(9) is False
    assert cursor.acked == 11
    with pytest.raises(ValueError, match="highest seq delivered is 11"):
        cursor.ack(12)


def test_a_restart_gap_starts_the_cursor_over() -> None:
    cursor = Cursor.resuming(500)
    cursor.on_gap(Gap(1, restart=True))
    assert (cursor.delivered, cursor.acked) == (0, None)
    assert cursor.accept(Notice(1, "m", "t", "1", "updated", None))
    cursor.on_gap(Gap(40))  # a pruning gap keeps the position
    assert cursor.delivered == 1
