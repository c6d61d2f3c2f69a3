"""The posting policy: what posts unattended, what waits for a person, what is never written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.documents import AR_INVOICES, CLIENTS, DAILY_PAYROLL, MODULES
from domain.policy import (
    EDITED,
    MAYBE_EDITED,
    OVER_THRESHOLD,
    PAID,
    PERIOD_LOCKED,
    PeriodError,
    Periods,
    Policy,
    PolicyError,
    SageFacts,
    Subject,
    needs_person,
    reasons_to_wait,
    why_unwritable,
)
from domain.posting import CREATE, REPLACE, UPDATE, VOID, Action

LOCKED = Periods(current="2026-11", locked_through="2026-09")


def invoice(action: str, amount: str = "100.00", period: str = "2026-10") -> Subject:
    return Subject(action, AR_INVOICES, Decimal(amount), period)


def test_only_the_creation_of_a_document_sage_lacks_posts_unattended_by_default() -> None:
    assert reasons_to_wait(invoice(CREATE)) == ()
    assert reasons_to_wait(Subject(CREATE, CLIENTS)) == ()
    for action in (REPLACE, UPDATE, VOID):
        assert needs_person(action) in reasons_to_wait(invoice(action))


def test_a_replacement_of_a_document_someone_edited_waits_whatever_the_policy() -> None:
    lenient = Policy(frozenset(Action))
    assert reasons_to_wait(invoice(REPLACE), SageFacts(edited=False), policy=lenient) == ()
    assert reasons_to_wait(invoice(REPLACE), SageFacts(edited=True), policy=lenient) == (EDITED,)
    # not known: taken as possibly edited
    assert reasons_to_wait(invoice(REPLACE), SageFacts(edited=None), policy=lenient) == (
        MAYBE_EDITED,
    )
    # a creation over what someone voided in Sage waits too
    assert reasons_to_wait(invoice(CREATE), SageFacts(edited=True)) == (EDITED,)


def test_anything_touching_a_paid_document_waits() -> None:
    lenient = Policy(frozenset(Action))
    paid = SageFacts(paid=Decimal("0.01"))
    for action in (REPLACE, UPDATE, VOID):
        assert PAID in reasons_to_wait(invoice(action), paid, policy=lenient)
    assert reasons_to_wait(invoice(CREATE), paid) == ()  # a creation touches nothing held


def test_anything_in_a_locked_period_waits() -> None:
    assert reasons_to_wait(invoice(CREATE, period="2026-09"), periods=LOCKED) == (PERIOD_LOCKED,)
    assert reasons_to_wait(invoice(CREATE, period="2025-12"), periods=LOCKED) == (PERIOD_LOCKED,)
    assert reasons_to_wait(invoice(CREATE, period="2026-10"), periods=LOCKED) == ()
    assert reasons_to_wait(Subject(CREATE, CLIENTS), periods=LOCKED) == ()  # no period


def test_an_amount_over_the_threshold_waits_in_money_modules_only() -> None:
    policy = Policy(max_amount=Decimal("500.00"))
    assert reasons_to_wait(invoice(CREATE, "500.00"), policy=policy) == ()
    assert reasons_to_wait(invoice(CREATE, "500.01"), policy=policy) == (OVER_THRESHOLD,)
    assert reasons_to_wait(invoice(CREATE, "-600.00"), policy=policy) == (OVER_THRESHOLD,)
    hours = Subject(CREATE, DAILY_PAYROLL, Decimal("900.00"), "2026-10")
    assert reasons_to_wait(hours, policy=policy) == ()


def test_every_reason_is_given_at_once() -> None:
    reasons = reasons_to_wait(
        invoice(VOID, "900.00", "2026-01"),
        SageFacts(paid=Decimal("10.00"), edited=True),
        LOCKED,
        Policy(max_amount=Decimal("1.00")),
    )
    assert reasons == (needs_person(VOID), EDITED, PAID, PERIOD_LOCKED, OVER_THRESHOLD)


def test_nothing_is_ever_written_into_a_locked_period_nor_a_paid_document_voided() -> None:
    assert why_unwritable(invoice(CREATE)) is None
    refusal = why_unwritable(invoice(CREATE, period="2026-09"), periods=LOCKED)
    assert refusal is not None and "period 2026-09 is locked" in refusal
    paid = SageFacts(paid=Decimal("25.00"))
    for action in (VOID, REPLACE):
        refusal = why_unwritable(invoice(action), paid)
        assert refusal is not None and "25.00 is paid" in refusal
    assert why_unwritable(invoice(UPDATE), paid) is None


@given(
    action=st.sampled_from(list(Action)),
    module=st.sampled_from(MODULES),
    month=st.integers(1, 12),
)
def test_whatever_is_unwritable_also_waits(action: str, module: str, month: int) -> None:
    posting = Subject(action, module, Decimal("1.00"), f"2026-{month:02d}")
    facts = SageFacts(paid=Decimal("1.00"))
    if why_unwritable(posting, facts, LOCKED) is not None:
        assert reasons_to_wait(posting, facts, LOCKED, Policy(frozenset(Action)))


@pytest.mark.parametrize(
    ("current", "locked", "message"),
    [
        ("2026-13", None, "expected a period YYYY-MM"),
        ("2026-1", None, "expected a period YYYY-MM"),
        ("2026-10", "2026-10", "expected a period before the current period 2026-10"),
        ("2026-10", "2027-01", "expected a period before the current period 2026-10"),
    ],
)
def test_periods_are_checked(current: str, locked: str | None, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        Periods(current, locked)


def test_a_policy_names_only_known_actions() -> None:
    with pytest.raises(PolicyError, match="expected actions among"):
        Policy(frozenset({"delete"}))
    with pytest.raises(PolicyError, match="expected 0 or more"):
        Policy(max_amount=Decimal("-1"))
