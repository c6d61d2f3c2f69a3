"""Daily payroll lines that Sage has turned into timecards are settled, once each."""

from __future__ import annotations

from domain.documents import DAILY_PAYROLL, Document
from domain.payroll import converted


def _line(key: str, hours: str = "2.00", day: str = "2026-03-02") -> Document:
    row = {
        "paydte": day,
        "empnum": "7",
        "jobnum": "2001",
        "cstcde": "1.100",
        "paytyp": "1",
        "payhrs": hours,
        "dscrpt": "Labor",
        "usrdf1": key,
    }
    return Document(DAILY_PAYROLL, key, {"dlypyr": (row,)}, "2026-03")


def _card(hours: str = "2.00", day: str = "2026-03-02") -> dict[str, str | None]:
    return {
        "empnum": "7",
        "dtewrk": day,
        "jobnum": "2001",
        "cstcde": "1.100",
        "paytyp": "1",
        "hrswrk": hours,
    }


def test_a_line_held_as_a_timecard_line_is_settled() -> None:
    assert converted([_line("ST-LB-1")], [], [_card()]) == {"ST-LB-1"}


def test_a_line_still_in_daily_payroll_is_not_converted() -> None:
    line = _line("ST-LB-1")
    assert converted([line], [line], [_card()]) == frozenset()


def test_each_timecard_line_settles_one_expected_line() -> None:
    lines = [_line("ST-LB-2"), _line("ST-LB-1")]
    assert converted(lines, [], [_card()]) == {"ST-LB-1"}
    assert converted(lines, [], [_card(), _card()]) == {"ST-LB-1", "ST-LB-2"}


def test_other_hours_or_another_day_do_not_match() -> None:
    assert converted([_line("ST-LB-1")], [], [_card(hours="2.50")]) == frozenset()
    assert converted([_line("ST-LB-1")], [], [_card(day="2026-03-03")]) == frozenset()


def test_the_timecard_lines_no_expected_line_takes_are_the_offices_own() -> None:
    from domain.payroll import settled

    shop_time = {**_card(hours="8.00"), "jobnum": "0"}
    found = settled([_line("ST-LB-1")], [], [shop_time, _card()])

    assert list(found) == ["ST-LB-1"]
    assert found["ST-LB-1"] == _card()
