"""A posting's states: proposed → approved → submitted → confirmed | failed, or rejected, or
withdrawn; every other move is a named error carrying the posting's id."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.posting import (
    APPROVED,
    CONFIRMED,
    FAILED,
    PROPOSED,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    DecisionError,
    Posting,
    PostingError,
    TransitionError,
)


def proposed() -> Posting:
    return Posting(
        module="ar_invoices",
        key="ST-INV-1",
        action="void",
        document=None,
        sage_refs=[7],
        reason="duplicate_in_sage ST-INV-1",
    )


def approved() -> Posting:
    entry = proposed()
    entry.approve("ana", "keyed twice")
    return entry


def submitted() -> Posting:
    entry = approved()
    entry.submit("sql", [7])
    return entry


def settled(step: Callable[[Posting], None]) -> Callable[[], Posting]:
    def make() -> Posting:
        entry = submitted()
        step(entry)
        return entry

    return make


def rejected() -> Posting:
    entry = proposed()
    entry.reject("ana", "it is a deposit")
    return entry


def withdrawn() -> Posting:
    entry = proposed()
    entry.withdraw("superseded")
    return entry


MAKERS: dict[str, Callable[[], Posting]] = {
    PROPOSED: proposed,
    APPROVED: approved,
    SUBMITTED: submitted,
    CONFIRMED: settled(lambda e: e.confirm()),
    FAILED: settled(lambda e: e.fail("Sage refused it")),
    REJECTED: rejected,
    WITHDRAWN: withdrawn,
}

COMMANDS: dict[str, Callable[[Posting], None]] = {
    "approve": lambda e: e.approve("ana", "ok"),
    "reject": lambda e: e.reject("ana", "no"),
    "withdraw": lambda e: e.withdraw("moot"),
    "submit": lambda e: e.submit("sql", []),
    "confirm": lambda e: e.confirm(),
    "fail": lambda e: e.fail("refused"),
    "refer": lambda e: e.refer(["void needs a person"], None, None),
}

#: The moves a posting allows, from each state.
ALLOWED = {
    PROPOSED: {"approve", "reject", "withdraw", "refer"},
    APPROVED: {"reject", "withdraw", "submit", "fail"},
    SUBMITTED: {"confirm", "fail"},
    CONFIRMED: set(),
    FAILED: set(),
    REJECTED: set(),
    WITHDRAWN: set(),
}


def test_the_happy_path_records_who_and_why() -> None:
    entry = proposed()
    entry.refer(["void needs a person"], "104.75", "2026-10")
    assert entry.waiting and entry.state == PROPOSED
    entry.approve("ana", "keyed twice")
    assert (entry.state, entry.decided_by, entry.decided_why) == (APPROVED, "ana", "keyed twice")
    assert not entry.waiting
    entry.submit("sql", [7])
    entry.confirm()
    kinds = [type(e).__name__ for e in entry.collect_events()]
    assert kinds == ["Proposed", "Referred", "Approved", "Submitted", "Confirmed"]


@pytest.mark.parametrize("state", list(MAKERS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_move_a_state_does_not_allow_is_a_transition_error(state: str, command: str) -> None:
    entry = MAKERS[state]()
    assert entry.state == state
    if command in ALLOWED[state]:
        COMMANDS[command](entry)
        return
    before = len(entry.collect_events())
    with pytest.raises(TransitionError) as error:
        COMMANDS[command](entry)
    assert error.value.posting_id == entry.id
    assert (error.value.command, error.value.state) == (command, state)
    assert str(entry.id) in str(error.value)
    assert isinstance(error.value, PostingError)
    assert entry.state == state and entry.collect_events() == [] and before > 0


@pytest.mark.parametrize(("by", "why"), [("", "ok"), ("ana", ""), ("  ", "ok"), ("ana", " ")])
def test_a_decision_needs_who_and_why(by: str, why: str) -> None:
    entry = proposed()
    with pytest.raises(DecisionError) as error:
        entry.approve(by, why)
    assert error.value.posting_id == entry.id
    with pytest.raises(DecisionError):
        entry.reject(by, why)
    assert entry.state == PROPOSED


def test_being_referred_again_for_the_same_reasons_records_nothing() -> None:
    entry = proposed()
    entry.refer(["void needs a person"], None, None)
    entry.collect_events()
    entry.refer(["void needs a person"], None, None)
    assert entry.collect_events() == []
    entry.refer(["void needs a person", "period locked"], None, "2026-01")
    assert [type(e).__name__ for e in entry.collect_events()] == ["Referred"]
    with pytest.raises(PostingError, match="with the reasons"):
        entry.refer([], None, None)


def test_an_approved_posting_may_still_be_rejected_before_it_is_written() -> None:
    entry = approved()
    entry.reject("bo", "changed my mind")
    assert (entry.state, entry.decided_by) == (REJECTED, "bo")
