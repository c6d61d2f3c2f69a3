"""Raw record text injected through the control API reaches clients byte for byte: spliced into
the first page of every list answer of its kind, and served by a fetch of its id."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import simulator
from adapters.partsledger.client import build_client as build_partsledger
from adapters.servicetrade.client import ServiceTradeClient
from adapters.servicetrade.client import build_client as build_servicetrade
from simulator import RunningSimulator, run_simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(7) as running:
        yield running


@pytest.fixture
def control(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.control_url + "/") as client:
        yield client
        client.delete("raw").raise_for_status()


def servicetrade(sim: RunningSimulator) -> ServiceTradeClient:
    return build_servicetrade(
        sim.base_url,
        client_id=simulator.DEFAULT_CLIENT_ID,
        client_secret=simulator.DEFAULT_CLIENT_SECRET,
        page_limits={"company": 10},
    )


def test_injected_records_come_on_the_first_page_whatever_the_cursor(
    sim: RunningSimulator, control: httpx.Client
) -> None:
    lines = b'{"id": 9000000001, "name": "caf\xe9"}\n\n{"id": ' + b"9" * 5000 + b"}\n[1]\n"
    answer = control.post("raw/company", content=lines).json()["data"]
    assert answer == {"kind": "company", "added": 3, "held": {"company": 3}}

    with servicetrade(sim) as client:
        pages = list(client.iter_pages("company", updated_after=4_000_000_000))

    assert len(pages) == 1
    first, huge, listed = pages[0]
    assert first == {"id": 9000000001, "name": "caf\udce9"}  # the bytes as they were sent
    assert str(huge["id"]) == "9" * 5000
    assert listed == {"_malformed_entry": [1]}


def test_the_world_s_pages_follow_and_only_the_first_carries_the_injected(
    sim: RunningSimulator, control: httpx.Client
) -> None:
    control.post("raw/company", content=b'{"id": 9000000002, "name": "once"}').raise_for_status()
    with servicetrade(sim) as client:
        pages = list(client.iter_pages("company"))
    ids = [record["id"] for page in pages for record in page]
    assert ids.count(9000000002) == 1 and len(pages) > 1
    assert pages[0][-1]["id"] == 9000000002
    assert len(ids) == sim.summary()["counts"]["company"] + 1


def test_a_fetch_by_id_serves_the_last_injected_record_before_the_world_s(
    sim: RunningSimulator, control: httpx.Client
) -> None:
    world_id = next(iter(sim.state.world.companies))
    text = f'{{"id": {world_id}, "name": "stale copy", "updated": 1}}'.encode()
    control.post("raw/company", content=b'{"id": "a-1", "name": "first"}').raise_for_status()
    control.post("raw/company", content=b'{"id": "a-1", "name": "last"}\n' + text)
    with servicetrade(sim) as client:
        assert client.get("company", "a-1")["name"] == "last"
        assert client.get("company", world_id)["name"] == "stale copy"
    control.delete("raw/company").raise_for_status()
    with servicetrade(sim) as client:
        assert client.fetch("company", "a-1") is None
        assert client.get("company", world_id)["name"] != "stale copy"


def test_partsledger_lists_and_fetches_carry_injected_records_too(
    sim: RunningSimulator, control: httpx.Client
) -> None:
    control.post("raw/bill", content=b'{"_id": 9000000003, "number": NaN}').raise_for_status()
    with build_partsledger(
        sim.partsledger_url,
        client_id=simulator.DEFAULT_PL_CLIENT_ID,
        client_secret=simulator.DEFAULT_PL_CLIENT_SECRET,
        page_limit=5,
    ) as client:
        pages = list(client.iter_pages("bill"))
        injected = [r for page in pages for r in page if r.get("_id") == 9000000003]
        assert len(injected) == 1 and injected[0] in pages[0]
        number = client.get("bill", 9000000003)["number"]
    assert number != number  # NaN, as sent


def test_the_control_api_counts_clears_and_refuses_unknown_kinds(control: httpx.Client) -> None:
    control.post("raw/vendor", content=b"{}\n{}").raise_for_status()
    assert control.get("raw").json()["data"] == {"held": {"vendor": 2}}
    assert control.post("raw/comment", content=b"{}").status_code == 404
    assert control.delete("raw").json()["data"] == {"cleared": 2, "held": {}}
