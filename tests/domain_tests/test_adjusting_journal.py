"""Adjusting journal entries and job cost rows: a parts journal transaction (and its job cost
row) in a locked period is settled in the open period, and the diff counts the adjustment
with its original."""

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.builders import AdjustmentError, adjusting_document, parts_job_cost
from domain.builders import parts_journal_document as journal_entry
from domain.documents import JOB_COST, JOURNAL, Document
from domain.keys import adjusted_key, job_cost_key, next_adjustment_key
from domain.money import ZERO
from domain.policy import Periods, adjustment_for
from domain.posting import CREATE, REPLACE, Correction
from domain.reconcile import AMOUNT_DIFFERS, diff, net_by_account
from domain.scope import in_scope
from domain.source import JobItem
from tests.projections_tests.test_costs import MAPPING

KEY = "ST-JI-3"
OPEN = "2026-11"
LOCKED = Periods(current=OPEN, locked_through="2026-10")
EXPENSE, INVENTORY = 5000, 1300


def capacitors(cost: str) -> JobItem:
    return JobItem("3", "500", "part", "Capacitor", "CAP", Decimal(3), Decimal(cost), "2026-10-14")


def entry(cost: str) -> Document:
    return journal_entry(capacitors(cost), job_number=5001, mapping=MAPPING)


def cost_row(cost: str) -> Document:
    return parts_job_cost(capacitors(cost), job_number=5001, mapping=MAPPING)


def posted(document: Document, ref: int = 7) -> Document:
    return replace(document, sage_ref=ref)


def adjust(expected: Document, original: Document, *earlier: Document) -> Document:
    key = next_adjustment_key(original.key, [d.key for d in earlier])
    made = adjusting_document(expected, original, earlier, key=key, period=OPEN, mapping=MAPPING)
    assert made is not None
    return made


def totals(document: Document) -> tuple[Decimal, Decimal]:
    lines = document.tables["lgtnln"]
    debits = sum((Decimal(r["dbtamt"] or "0") for r in lines), ZERO)
    return debits, sum((Decimal(r["crdamt"] or "0") for r in lines), ZERO)


def test_a_higher_cost_makes_a_balanced_entry_for_the_difference_in_the_open_period() -> None:
    original, expected = posted(entry("12.50")), entry("15.00")  # 37.50 posted, 45.00 expected

    adjusting = adjust(expected, original)

    assert adjusting.key == f"{KEY}~A1" and adjusting.period == OPEN
    assert totals(adjusting) == (Decimal("7.50"), Decimal("7.50"))
    assert net_by_account([adjusting]) == {EXPENSE: Decimal("7.50"), INVENTORY: Decimal("-7.50")}
    header = adjusting.header
    assert header["trnnum"] == "JI3-A1" and header["srcnum"] == "3" and header["status"] == "1"
    assert (header["trndte"], header["usrdf1"]) == ("2026-11-01", f"{KEY}~A1")
    assert header["dscrpt"] == "Adjusts journal JI3"


def test_a_lower_cost_credits_direct_expense() -> None:
    adjusting = adjust(entry("10.00"), posted(entry("12.50")))

    assert net_by_account([adjusting]) == {EXPENSE: Decimal("-7.50"), INVENTORY: Decimal("7.50")}
    assert totals(adjusting) == (Decimal("7.50"), Decimal("7.50"))


def test_the_diff_counts_a_journal_adjustment_with_its_original() -> None:
    original, expected = posted(entry("12.50")), entry("15.00")
    adjusting = posted(adjust(expected, original), 8)

    assert diff(JOURNAL, [expected], [original, adjusting]) == []
    [finding] = diff(JOURNAL, [expected], [original])
    assert finding.kind == AMOUNT_DIFFERS and finding.difference == Decimal("-7.50")


def test_an_adjustment_that_does_not_net_to_what_is_expected_leaves_the_difference() -> None:
    original = posted(entry("12.50"))
    adjusting = posted(adjust(entry("15.00"), original), 8)

    [finding] = diff(JOURNAL, [entry("16.00")], [original, adjusting])

    assert finding.kind == AMOUNT_DIFFERS and finding.difference == Decimal("-3.00")
    second = adjust(entry("16.00"), original, adjusting)
    assert second.key == f"{KEY}~A2" and second.header["trnnum"] == "JI3-A2"
    assert diff(JOURNAL, [entry("16.00")], [original, adjusting, posted(second, 9)]) == []


def test_a_replacement_in_a_locked_period_becomes_an_adjusting_entry() -> None:
    original, expected = posted(entry("12.50")), entry("15.00")
    correction = Correction(JOURNAL, KEY, REPLACE, expected, (7,), "amount differs")

    settled = adjustment_for(correction, [original], LOCKED, MAPPING)

    assert isinstance(settled, Correction) and settled.action == CREATE
    assert settled.document is not None and settled.document.key == f"{KEY}~A1"
    assert "its period 2026-10 is locked" in settled.reason
    open_period = adjustment_for(correction, [original], Periods(current=OPEN), MAPPING)
    assert open_period == correction  # an open period is still voided and re-entered


def test_an_unbalanced_difference_is_refused() -> None:
    original = posted(entry("12.50"))
    lines = original.tables["lgtnln"]
    lopsided = replace(
        original, tables={**original.tables, "lgtnln": (dict(lines[0], dbtamt="40.00"), lines[1])}
    )

    with pytest.raises(AdjustmentError, match="must balance"):
        adjusting_document(
            entry("12.50"), lopsided, [], key=f"{KEY}~A1", period=OPEN, mapping=MAPPING
        )


def test_a_job_cost_row_adjustment_keys_to_its_original_and_folds_into_it() -> None:
    original, expected = posted(cost_row("12.50")), cost_row("15.00")

    adjusting = adjust(expected, original)

    assert adjusting.key == f"{original.key}~A1" and adjusted_key(adjusting.key) == original.key
    assert job_cost_key(adjusting.header) == adjusting.key
    row = adjusting.header
    assert (row["trnnum"], row["cstamt"], row["srcnum"]) == ("JI3-A1", "7.50", "3")
    assert (row["jobnum"], row["cstcde"], row["csttyp"]) == ("5001", "200.000", "1")
    assert (row["actprd"], row["postyr"], row["trndte"]) == ("11", "2026", "2026-11-01")
    assert diff(JOB_COST, [expected], [original, posted(adjusting, 8)]) == []
    [finding] = diff(JOB_COST, [expected], [original])
    assert finding.kind == AMOUNT_DIFFERS and finding.difference == Decimal("-7.50")
    assert in_scope(JOB_COST, MAPPING)(adjusting) and in_scope(JOURNAL, MAPPING)(
        adjust(entry("15.00"), posted(entry("12.50")))
    )


def test_a_job_cost_adjustment_without_its_original_is_unexpected() -> None:
    adjusting = posted(adjust(cost_row("15.00"), posted(cost_row("12.50"))), 8)

    [finding] = diff(JOB_COST, [], [adjusting], in_scope=in_scope(JOB_COST, MAPPING))

    assert finding.kind == "unexpected_in_sage" and finding.key == adjusting.key


def test_a_long_transaction_number_is_cut_and_the_row_still_keys_to_its_original() -> None:
    long_id = "2500500000000005"  # JI + 16 digits: Sage's 20 characters leave no room
    item = replace(capacitors("12.50"), id=long_id)
    original = posted(parts_job_cost(item, job_number=5001, mapping=MAPPING))
    expected = parts_job_cost(
        replace(item, cost=Decimal("15.00")), job_number=5001, mapping=MAPPING
    )

    adjusting = adjust(expected, original)

    assert adjusting.header["trnnum"] == "JI250050000000000-A1"
    assert adjusting.header["dscrpt"] == f"Adjusts job cost JI{long_id}"
    assert job_cost_key(adjusting.header) == adjusting.key == f"{original.key}~A1"
    assert diff(JOB_COST, [expected], [original, posted(adjusting, 8)]) == []
