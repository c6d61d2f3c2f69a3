"""The composition root opens the source feeds: the embedded simulator, or any server."""

from __future__ import annotations

from pathlib import Path

from adapters.partsledger.feed import PartsLedgerFeed
from cli.bootstrap import sources
from cli.config import default_config, parse_config
from domain.ports import SourceFeed
from domain.source import Snapshot, VendorBill
from simulator import DEFAULT_PL_CLIENT_ID, DEFAULT_PL_CLIENT_SECRET, run_simulator


def read_all(feed: SourceFeed, kind: str) -> list[Snapshot]:
    return [feed.read(kind, raw) for page in feed.pages(kind, None) for raw in page]


def test_one_embedded_simulator_serves_both_feeds(tmp_path: Path) -> None:
    data = default_config(tmp_path)
    data["servicetrade"]["simulator"]["state_file"] = ""
    with sources(parse_config(data)) as opened:
        assert opened.simulator is not None
        assert opened.partsledger.system == "partsledger"
        bills = read_all(opened.partsledger, "bill")
        assert bills and all(isinstance(bill, VendorBill) for bill in bills)
        job_ids = {snapshot.id for snapshot in read_all(opened.servicetrade, "job")}
        billed_jobs = {line.job_id for bill in bills for line in bill.lines if line.job_id}
        assert billed_jobs and billed_jobs <= job_ids  # one world: PartsLedger's jobs exist
        raw = next(iter(next(iter(opened.partsledger.pages("vendor", None)))))
        assert opened.partsledger.source_id_of(raw) == str(raw["_id"])
        updated = opened.partsledger.updated_of(raw)
        assert isinstance(updated, int) and updated > 1_700_000_000


def test_configured_servers_are_used_as_they_are(tmp_path: Path) -> None:
    with run_simulator(seed=7) as sim:
        data = default_config(tmp_path)
        data["servicetrade"].update(
            base_url=sim.base_url, client_id="recon", client_secret="recon-sim-secret"
        )
        data["partsledger"] = {
            "base_url": sim.partsledger_url,
            "client_id": DEFAULT_PL_CLIENT_ID,
            "client_secret": DEFAULT_PL_CLIENT_SECRET,
        }
        with sources(parse_config(data)) as opened:
            assert opened.simulator is None  # nothing embedded: no second simulator
            assert isinstance(opened.partsledger, PartsLedgerFeed)
            warehouses = read_all(opened.partsledger, "warehouse")
            assert len(warehouses) == len(sim.state.world.pl_warehouses)
            assert read_all(opened.servicetrade, "clockevent")
