"""Keys fit every backend: records whose ids are as long as recon takes go through `recon ingest`
and `recon reconcile --apply` on a PostgreSQL event store and a PostgreSQL-hosted Sage sandbox
(both enforce their VARCHAR lengths), and one id longer is quarantined without poisoning them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cli.config import write_config
from domain import bounds
from simulator import RunningSimulator, run_simulator
from tests.conftest import postgres_database
from tests.e2e.hostile import inject_texts as inject
from tests.e2e.test_servicetrade_account import setup

pytestmark = pytest.mark.slow

LONGEST = bounds.SOURCE_ID_LENGTH
LONGEST_ITEM = bounds.JOB_ITEM_ID_LENGTH


@pytest.fixture
def account() -> Iterator[RunningSimulator]:
    with run_simulator(11) as sim:
        yield sim


def long_id(prefix: str, length: int = LONGEST) -> str:
    return prefix + "x" * (length - len(prefix))


def _without_uris(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_uris(v) for k, v in value.items() if k != "uri"}
    if isinstance(value, list):
        return [_without_uris(v) for v in value]
    return value


def cloned(records: list[dict[str, Any]], ids: dict[int, str]) -> list[bytes]:
    """The records as JSON text with their world ids (and every reference to them) replaced."""
    texts = []
    for record in records:
        written = json.dumps(_without_uris(record), default=str)
        for old, new in ids.items():
            written = re.sub(rf"(?<![\d.]){old}(?![\d.])", json.dumps(new), written)
        texts.append(written.encode())
    return texts


def long_id_records(sim: RunningSimulator) -> dict[str, list[bytes]]:
    """An invoice with its job, location, customer and job items, and a vendor's bill for that
    job, as the world has them, under ids of the longest length recon takes."""
    from adapters.partsledger.client import build_client as build_partsledger
    from adapters.servicetrade.client import build_client as build_servicetrade
    from simulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_PL_CLIENT_ID,
        DEFAULT_PL_CLIENT_SECRET,
    )

    st_client = build_servicetrade(
        sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET
    )
    pl_client = build_partsledger(
        sim.partsledger_url, client_id=DEFAULT_PL_CLIENT_ID, client_secret=DEFAULT_PL_CLIENT_SECRET
    )
    with st_client, pl_client:
        everything = {
            kind: [r for page in st_client.iter_pages(kind) for r in page]
            for kind in ("company", "location", "job", "invoice", "jobitem")
        }
        vendors = [r for page in pl_client.iter_pages("vendor") for r in page]
        bills = [r for page in pl_client.iter_pages("bill") for r in page]
    items_by_job: dict[int, list[dict[str, Any]]] = {}
    for item in everything["jobitem"]:
        items_by_job.setdefault(item["job"]["id"], []).append(item)
    invoice = next(
        i
        for i in everything["invoice"]
        if i["status"] == "processed" and i.get("job") and items_by_job.get(i["job"]["id"])
    )
    job = next(j for j in everything["job"] if j["id"] == invoice["job"]["id"])
    location = next(x for x in everything["location"] if x["id"] == invoice["location"]["id"])
    customer = next(c for c in everything["company"] if c["id"] == invoice["customer"]["id"])
    items = items_by_job[job["id"]]
    bill = bills[0]
    vendor = next(v for v in vendors if v["_id"] == bill["VendorId"])
    ids: dict[int, str] = {
        customer["id"]: long_id("co-"),
        location["id"]: long_id("lo-"),
        job["id"]: long_id("jo-"),
        invoice["id"]: long_id("in-"),
        vendor["_id"]: long_id("ve-"),
        bill["_id"]: long_id("bi-"),
        **{item["id"]: long_id(f"i{n}-", LONGEST_ITEM) for n, item in enumerate(items)},
    }
    job = {**job, "number": 990_001, "name": "Long id job"}
    invoice = {**invoice, "invoiceNumber": "LONG-ID-1"}
    customer = {**customer, "name": "Long Id Customer"}
    vendor = {**vendor, "name": "Long Id Vendor"}
    bill = {
        **bill,
        "number": "LONG-BILL-1",
        "PurchaseOrderId": None,
        "purchaseOrderNumber": "",
        "BillLineItems": [
            {**line, "POLineItemId": None, "ItemId": None, "JobId": job["id"]}
            for line in bill["BillLineItems"]
        ],
    }
    return {
        "company": cloned([customer], ids),
        "location": cloned([location], ids),
        "job": cloned([job], ids),
        "invoice": cloned([invoice], ids),
        "jobitem": cloned(items, ids),
        "vendor": cloned([vendor], ids),
        "bill": cloned([bill], ids),
    }


@pytest.mark.postgres
def test_the_longest_ids_go_through_ingest_and_reconcile_on_postgresql(
    tmp_path: Path, account: RunningSimulator, postgres_url: str
) -> None:
    records = long_id_records(account)
    records["company"].append(
        json.dumps({"id": long_id("too-long-", LONGEST + 1), "name": "One too long"}).encode()
    )
    records["company"].append(json.dumps({"id": "c" * 62, "name": "62 characters"}).encode())
    inject(account.control_url, records)
    with postgres_database("recon_sage_long_ids") as sage_url:
        recon = setup(tmp_path, account)
        data = json.loads(json.dumps(_config(recon.config)))
        data["store"]["url"] = postgres_url
        data["sage"]["url"] = sage_url
        write_config(recon.config, data)
        recon.run("sandbox", "init", "--sage", sage_url, "--config", str(recon.config))

        ingested = recon.json("ingest")
        assert ingested["rejected"]["company"] == 2
        quarantined = {q["source_id"]: q for q in recon.json("quarantine", "list")["quarantined"]}
        assert all(i.startswith("unidentified-") for i in quarantined)

        code, applied = recon.reconcile("--apply")
        assert code == 1 and applied["remaining"] == [], applied["remaining"]
        assert applied["applied"]["confirmed"] and not applied["applied"]["failed"]
        code, final = recon.reconcile()
        assert (code, final["findings"]) == (0, [])

        sage = create_engine(sage_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with sage.connect() as conn:
                links = {
                    row[0]
                    for table in ("acrinv", "acpinv", "reccln", "dlypyr", "lgrtrn")
                    for row in conn.execute(text(f"SELECT usrdf1 FROM {table}"))
                }
        finally:
            sage.dispose()
        assert "ST-INV-" + long_id("in-") in links and "PL-BILL-" + long_id("bi-") in links
        assert "ST-CO-" + long_id("co-") in links
        assert any(link.startswith("ST-LB-i") or link.startswith("ST-JI-i") for link in links)
        assert recon.json("ingest")["appended"] is not None  # the store still works


def _config(path: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(path.read_text())
