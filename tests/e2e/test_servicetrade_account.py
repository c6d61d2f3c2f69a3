"""recon against a ServiceTrade account over HTTP (the simulator as a separate server):
malformed records are quarantined and the rest syncs; invoices are marked processed or failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.servicetrade.client import build_client
from adapters.servicetrade.feed import ServiceTradeFeed
from cli.config import default_config, write_config
from cli.demo import technicians
from simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PL_CLIENT_ID,
    DEFAULT_PL_CLIENT_SECRET,
    RunningSimulator,
    run_simulator,
)
from tests.e2e.conftest import Recon

pytestmark = pytest.mark.slow


@pytest.fixture
def account() -> Iterator[RunningSimulator]:
    with run_simulator(11) as sim:
        yield sim


def setup(tmp_path: Path, sim: RunningSimulator, **mapping: Any) -> Recon:
    data = default_config(tmp_path)
    data["servicetrade"] = {
        "base_url": sim.base_url,
        "auth": "oauth2",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "timezone": "America/New_York",
    }
    data["partsledger"] = {
        "base_url": sim.partsledger_url,
        "client_id": DEFAULT_PL_CLIENT_ID,
        "client_secret": DEFAULT_PL_CLIENT_SECRET,
    }
    with build_client(
        sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET
    ) as client:
        names = technicians(ServiceTradeFeed(client, "America/New_York"))
    data["mapping"]["employees"] = {name: 101 + i for i, name in enumerate(names)}
    data["mapping"].update(mapping)
    write_config(tmp_path / "recon.toml", data)
    recon = Recon(tmp_path)
    recon.run("sandbox", "init", "--sage", data["sage"]["url"], "--config", str(recon.config))
    return recon


def test_malformed_records_are_quarantined_and_everything_else_syncs(
    tmp_path: Path, account: RunningSimulator
) -> None:
    broken = account.inject({"malformed": {"count": 2, "kind": "invoice"}})["malformed"]["ids"]
    broken += account.inject({"malformed": {"count": 1, "kind": "company"}})["malformed"]["ids"]
    recon = setup(tmp_path, account)

    report = recon.json("ingest")
    assert sum(report["rejected"].values()) == 3
    assert (
        report["appended"]["invoice"] == report["fetched"]["invoice"]
    )  # rejected ones recorded too

    rows = recon.json("quarantine", "list")["quarantined"]
    assert sorted(r["source_id"] for r in rows) == sorted(str(i) for i in broken)
    assert all(r["rejection"] and r["raw"] for r in rows)

    code, result = recon.reconcile("--apply")
    assert code == 1  # the first run finds Sage empty
    assert result["remaining"] == []
    assert recon.reconcile()[0] == 0
    quarantined_keys = {f"ST-INV-{i}" for i in broken}
    assert not quarantined_keys & {f["key"] for f in result["findings"]}

    again = recon.json("ingest")
    assert sum(again["rejected"].values()) == 3
    assert sum(again["appended"].values()) == result["written_back"]["processed"]


def test_invoices_are_marked_processed_or_failed_with_the_reason(
    tmp_path: Path, account: RunningSimulator
) -> None:
    data_groups = default_config(tmp_path)["mapping"]["tax_groups"]
    del data_groups["Orange County NC"]
    recon = setup(tmp_path, account, tax_groups=data_groups)
    recon.run("ingest", "--config", str(recon.config))

    code, result = recon.reconcile("--apply")
    assert code == 1
    unmapped = [f for f in result["remaining"] if f["kind"] == "unmapped"]
    assert unmapped and all("Orange County NC" in f["expected"] for f in unmapped)
    assert {f["kind"] for f in result["remaining"]} == {"unmapped"}
    written = result["written_back"]
    assert written["processed"] > 0 and written["failed"] > 0

    invoices = (
        {str(i["id"]): i for i in account.state.world.table("invoice").values()} if False else None
    )
    del invoices
    summary = account.summary()
    assert summary  # the simulator answered throughout
    failed_key = next(f["key"] for f in unmapped if f["module"] == "ar_invoices")
    invoice_id = failed_key.removeprefix("ST-INV-")
    with build_client(
        account.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET
    ) as client:
        invoice = client.get("invoice", invoice_id)
        comments = client.comments("invoice", invoice_id)
    assert invoice["status"] == "failed"
    assert any("Orange County NC" in c.get("content", "") for c in comments)
