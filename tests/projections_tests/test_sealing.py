"""store.cipher_key seals the projections' customer and payroll columns; a wrong key is refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text

from adapters.store import WRONG_KEY, Store, StoreKeyError, create_projection_engine
from application.context import Context
from application.ingest import ingest
from domain.documents import CLIENTS
from projections import sealing
from projections.readmodel import ReadModel
from projections.sealing import Sealer, SealError, key_material, new_key
from projections.tables import metadata, source_state
from tests.fakes import ListFeed
from tests.projections_tests.test_store_contract import MAPPING, company, invoice, location

CUSTOMER = "Hopewell Orchard Cooperative"
TECHNICIAN = "Quentin Marsh"
KEY, OTHER_KEY = new_key(), new_key()
MAPPED = dataclasses.replace(MAPPING, employees={TECHNICIAN: 7})


def world() -> ListFeed:
    return ListFeed(
        {
            "company": [company(1, name=CUSTOMER), company(2)],
            "location": [location(10, 1), location(11, 2)],
            "invoice": [invoice(100, 10, 1), invoice(101, 11, 2)],
        }
    )


@contextmanager
def opened(store_url: str, key: str | None, engine: Engine | None = None) -> Iterator[Context]:
    """The store and read model, as ``cli.bootstrap.context`` wires them for ``key``."""
    store = Store(store_url, key)
    engine = engine or create_projection_engine(store_url)
    try:
        model = ReadModel(engine, MAPPED, None if key is None else Sealer(key))
        ctx = Context(store, model, MAPPED)
        ctx.catch_up()
        yield ctx
    finally:
        store.close()
        engine.dispose()


def stored_text(engine: Engine, projections_only: bool = False) -> str:
    """Every value of every table (or of the projections' only) as the database holds it."""
    found = []
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            if projections_only and name not in metadata.tables:
                continue
            for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'):
                found.extend(str(value) for value in row)
    return "\n".join(found)


def test_a_sealed_value_opens_with_its_key_and_no_other() -> None:
    sealer = Sealer(KEY)
    one, two = sealer.seal(CUSTOMER), sealer.seal(CUSTOMER)
    assert one != two and CUSTOMER not in one  # a fresh nonce each time
    assert sealer.open(one) == sealer.open(two) == CUSTOMER
    assert sealer.seal_alike(CUSTOMER) == sealer.seal_alike(CUSTOMER)
    assert sealer.open_alike(sealer.seal_alike(CUSTOMER)) == CUSTOMER
    other = Sealer(OTHER_KEY)
    with pytest.raises(SealError):
        other.open(one)
    with pytest.raises(SealError):
        other.open_alike(sealer.seal_alike(CUSTOMER))
    with pytest.raises(SealError):
        sealer.open(CUSTOMER)  # plain text where a sealed value belongs
    assert Sealer(KEY).check == sealer.check != other.check
    assert KEY not in sealer.check


@pytest.mark.parametrize(
    "key", ["", "not base64!", "c2hvcnQ=", "cipher-key-material", "é", new_key() + "AAAA"]
)
def test_a_cipher_key_is_base64_of_16_24_or_32_bytes(key: str) -> None:
    with pytest.raises(ValueError, match="base64 of 16, 24 or 32"):
        key_material(key)


def test_new_keys_are_32_random_bytes() -> None:
    assert len(key_material(new_key())) == 32
    assert new_key() != new_key()


def test_the_projections_hold_no_name_in_the_clear_and_read_it_back(store_url: str) -> None:
    with opened(store_url, KEY) as ctx:
        ingest(ctx, world())
        ctx.catch_up()
        names = {p["name"] for _, p in ctx.read_model.payloads("servicetrade", "company")}
        assert CUSTOMER in names
        documents, _ = ctx.read_model.expected(CLIENTS, None)
        assert any(CUSTOMER in str(d.tables) for d in documents)
        ctx.read_model.note_sync({"agent": {"error": f"no answer about {CUSTOMER}"}})
        assert CUSTOMER in ctx.read_model.sync_state()["agent"]["error"]
        held = stored_text(ctx.read_model.engine)
        assert "s1:" in held
        assert CUSTOMER not in held
        assert TECHNICIAN not in held  # the mapping, in the projections' fingerprints


def test_without_a_key_the_projections_are_plain(tmp_path: Path) -> None:
    with opened(f"sqlite:///{tmp_path / 'recon.db'}", None) as ctx:
        ingest(ctx, world())
        ctx.catch_up()
        held = stored_text(ctx.read_model.engine)
        assert CUSTOMER in held and TECHNICIAN in held
        assert "s1:" not in held


def test_adding_a_key_to_plain_projections_rebuilds_them_from_the_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recon.db'}"
    with opened(url, None) as ctx:
        ingest(ctx, world())
        ctx.catch_up()
        ctx.read_model.note_sync({"agent": {"running": True}})
    store = Store(url)  # the events stay plain: only the projections change key here
    engine = create_projection_engine(url)
    try:
        model = ReadModel(engine, MAPPED, Sealer(KEY))
        model.catch_up(store)
        names = {p["name"] for _, p in model.payloads("servicetrade", "company")}
        assert CUSTOMER in names
        assert model.sync_state() == {}  # sealed the old way: dropped, the agent writes it again
        held = stored_text(engine, projections_only=True)
        assert CUSTOMER not in held and TECHNICIAN not in held
    finally:
        store.close()
        engine.dispose()
    with opened(url, None) as ctx:  # and back to plain: rebuilt again, never misread
        assert CUSTOMER in {
            p["name"] for _, p in ctx.read_model.payloads("servicetrade", "company")
        }
        assert CUSTOMER in stored_text(ctx.read_model.engine)


def test_a_store_refuses_a_key_that_does_not_decrypt_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recon.db'}"
    with opened(url, KEY) as ctx:
        ingest(ctx, world())
    with pytest.raises(StoreKeyError, match=f"^{WRONG_KEY}: set the key"):
        Store(url, OTHER_KEY)
    with pytest.raises(StoreKeyError, match=r"encrypted and store\.cipher_key is not set"):
        Store(url)
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    with opened(plain, None) as ctx:
        ingest(ctx, world())
    with pytest.raises(StoreKeyError, match=f"^{WRONG_KEY}: its events are not encrypted"):
        Store(plain, KEY)
    Store(url, KEY).close()  # the right key opens it


def test_a_copied_store_holds_the_same_events_under_the_new_key(tmp_path: Path) -> None:
    old_url, new_url = (f"sqlite:///{tmp_path / n}" for n in ("old.db", "new.db"))
    with opened(old_url, None) as ctx:
        ingest(ctx, world())
    old, new = Store(old_url), Store(new_url, KEY)
    try:
        assert old.copy_to(new) == old.max_position() > 0
        assert [(e.originator_id, e.topic, e.state) for e in new.read(0, 1000)] == [
            (e.originator_id, e.topic, e.state) for e in old.read(0, 1000)
        ]
        with pytest.raises(ValueError, match="already holds events"):
            old.copy_to(new)
    finally:
        old.close()
        new.close()
    raw = (tmp_path / "new.db").read_bytes()
    assert CUSTOMER.encode() not in raw and CUSTOMER.encode() in (tmp_path / "old.db").read_bytes()
    with pytest.raises(StoreKeyError):
        Store(new_url, OTHER_KEY)


def test_a_key_cannot_be_bound_after_the_engine_read_plain(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            source_state.create(conn)
            conn.execute(select(source_state.c.payload)).all()
        with pytest.raises(RuntimeError, match="another way"):
            sealing.bind(engine, Sealer(KEY))
        sealing.bind(engine, None)  # plain again: nothing changes
    finally:
        engine.dispose()
    sealed = create_engine("sqlite://")
    sealing.bind(sealed, Sealer(KEY))
    sealing.bind(sealed, Sealer(KEY))  # the same key again: nothing changes
    with pytest.raises(RuntimeError, match="another way"):
        sealing.bind(sealed, Sealer(OTHER_KEY))
    with pytest.raises(RuntimeError, match="another way"):
        sealing.bind(sealed, None)
    with sealed.begin() as conn:
        conn.execute(text("SELECT 1"))
    sealed.dispose()
