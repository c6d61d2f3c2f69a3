"""A technician or labor type missing from the mapping is a finding that names it and says
where to map it; the rest of the month still posts."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.config import write_config
from cli.demo import embedded_config
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


def test_unmapped_technician_and_labor_type_are_findings_and_the_rest_posts(tmp_path: Path) -> None:
    data = embedded_config(tmp_path)
    employees = data["mapping"]["employees"]
    missing = sorted(employees)[0]
    del employees[missing]
    del data["mapping"]["pay_types"]["Premium Labor"]
    write_config(tmp_path / "recon.toml", data)
    recon = Recon(tmp_path)
    recon.run("sandbox", "init", "--sage", data["sage"]["url"], "--config", str(recon.config))
    recon.run("ingest", "--config", str(recon.config))

    code, result = recon.reconcile("--apply")
    assert code == 1
    remaining = result["remaining"]
    assert remaining and {f["kind"] for f in remaining} == {"unmapped"}
    messages = [f["expected"] for f in remaining]
    assert any(missing in m and "[mapping.employees]" in m for m in messages)
    assert any("'Premium Labor'" in m and "[mapping.pay_types]" in m for m in messages)
    assert {f["module"] for f in remaining} <= {"daily_payroll", "job_cost"}
    # everything else posted: every first finding but the unmapped ones, each confirmed
    posted = [f for f in result["findings"] if f["kind"] != "unmapped"]
    assert len(result["applied"]["confirmed"]) == len(posted)
    assert result["applied"]["failed"] == []

    code, again = recon.reconcile()
    assert sorted(f["key"] for f in again["findings"]) == sorted(f["key"] for f in remaining)
    status = recon.json("status")
    assert status["modules"]["daily_payroll"]["unmapped"] == len(remaining)
