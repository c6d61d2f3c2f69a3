"""The office converts daily payroll into timecards, as Sage does at period end: recon finds
nothing to do and enters no hours again."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, func, select

from adapters.sage.schema import dlypyr, jobcst, payrec, tmcdln, window_zeros
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def convert_daily_payroll(sage_url: str) -> int:
    """What 5-5-1's "create timecards" does: one payroll record per employee and week with a
    timecard line per daily line, then the daily lines deleted. Returns the lines converted."""
    engine = create_engine(sage_url)
    try:
        with engine.begin() as connection:
            lines = connection.execute(select(dlypyr)).mappings().all()
            weeks: dict[tuple[int, int], list[Any]] = defaultdict(list)
            for line in lines:
                weeks[(int(line["empnum"]), line["paydte"].isocalendar()[1])].append(line)
            now = datetime(2026, 11, 2, 9, 0)
            for (employee, _week), rows in sorted(weeks.items()):
                guid = uuid.uuid4()
                hours = sum(row["payhrs"] for row in rows)
                record = {"_idnum": guid, "empnum": employee, "paytyp": 1, "status": 3}
                record |= {"ttlhrs": hours, "reghrs": hours, "chknum": f"DD{employee}"}
                connection.execute(
                    payrec.insert(),
                    {**window_zeros(payrec, record), **record, "insdte": now, "usrnme": "office"},
                )
                recnum = connection.execute(
                    select(payrec.c.recnum).where(payrec.c._idnum == guid)
                ).scalar_one()
                for linnum, row in enumerate(rows, start=1):
                    card = {
                        "_idnum": uuid.uuid4(),
                        "_idref": guid,
                        "recnum": recnum,
                        "linnum": linnum,
                        "dtewrk": row["paydte"],
                        "jobnum": row["jobnum"],
                        "cstcde": row["cstcde"],
                        "paytyp": row["paytyp"],
                        "hrswrk": row["payhrs"],
                        "dscrpt": row["dscrpt"],
                    }
                    connection.execute(tmcdln.insert(), {**window_zeros(tmcdln, card), **card})
            connection.execute(delete(dlypyr))
            return len(lines)
    finally:
        engine.dispose()


def count(sage_url: str, table: Any) -> int:
    engine = create_engine(sage_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_daily_payroll_converted_into_timecards_is_settled(recon: Recon) -> None:
    sage_url = f"sqlite:///{recon.workdir / 'sage.db'}"
    converted = convert_daily_payroll(sage_url)
    assert converted > 0
    job_cost_rows = count(sage_url, jobcst)

    code, result = recon.reconcile()
    assert (code, result["findings"]) == (0, [])
    hours = recon.json("status")["tie_outs"]["daily_payroll"]
    assert hours["ties"] and hours["differences"] == []  # the hours are in the timecards
    code, result = recon.reconcile("--apply")
    assert code == 0
    assert count(sage_url, dlypyr) == 0  # no hours entered again
    assert count(sage_url, jobcst) == job_cost_rows
    assert count(sage_url, tmcdln) == converted
