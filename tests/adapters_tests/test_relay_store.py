"""The relay's store on SQLite and PostgreSQL: each delivery once, seqs in order and never
reused, the backlog bound, agents' acks and the hook secret kept across reopening."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.relay.errors import RelayConfigError, RelayStoreError
from adapters.relay.protocol import Change
from adapters.relay.store import RelayStore
from tests.conftest import postgres_database


@pytest.fixture(scope="module")
def postgres_relay_url() -> Iterator[str]:
    with postgres_database("recon_relay") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def relay_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty relay store: a SQLite file, or a PostgreSQL database wiped for the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relay.db'}"
        return
    url = str(request.getfixturevalue("postgres_relay_url"))
    yield url
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        for table in ("relay_notices", "relay_agents", "relay_settings"):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()


@pytest.fixture
def store(relay_url: str) -> Iterator[RelayStore]:
    opened = RelayStore(relay_url, backlog=1000)
    yield opened
    opened.close()


def change(message: str, entity_id: int, action: str = "updated") -> Change:
    return Change(message, "invoice", str(entity_id), action, 1_700_000_000 + entity_id)


def test_appends_get_increasing_seqs_in_order(store: RelayStore) -> None:
    first = store.append([change("m1", 1), change("m1", 2)])
    second = store.append([change("m2", 3)])
    seqs = [n.seq for n in (*first.notices, *second.notices)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    notices, pruned = store.read_after(0, 10)
    assert [(n.seq, n.message_id, n.entity_id) for n in notices] == [
        (seqs[0], "m1", "1"),
        (seqs[1], "m1", "2"),
        (seqs[2], "m2", "3"),
    ]
    assert notices[0].timestamp == 1_700_000_001
    assert pruned == 0
    assert store.read_after(seqs[1], 10)[0] == notices[2:]


def test_a_repeated_delivery_records_nothing_new(store: RelayStore) -> None:
    store.append([change("m1", 1), change("m1", 2)])
    again = store.append([change("m1", 2), change("m1", 1)])
    assert (again.notices, again.duplicates) == ((), 2)
    inside = store.append([change("m2", 5), change("m2", 5)])
    assert (len(inside.notices), inside.duplicates) == (1, 1)
    assert store.bounds().count == 3


def test_another_message_or_action_for_the_same_entity_is_another_notice(
    store: RelayStore,
) -> None:
    store.append([change("m1", 1)])
    assert len(store.append([change("m2", 1)]).notices) == 1
    assert len(store.append([change("m1", 1, "deleted")]).notices) == 1
    assert store.bounds().count == 3


def test_deliveries_out_of_order_are_all_kept_in_arrival_order(store: RelayStore) -> None:
    for message, entity in (("m3", 3), ("m1", 1), ("m2", 2)):
        store.append([change(message, entity)])
    assert [n.message_id for n in store.read_after(0, 10)[0]] == ["m3", "m1", "m2"]


def test_the_backlog_keeps_the_newest_and_says_what_was_pruned(relay_url: str) -> None:
    store = RelayStore(relay_url, backlog=3)
    try:
        seqs = [store.append([change(f"m{i}", i)]).notices[0].seq for i in range(7)]
        bounds = store.bounds()
        assert (bounds.count, bounds.oldest, bounds.last) == (3, seqs[4], seqs[6])
        assert bounds.pruned_through == seqs[3]
        notices, pruned = store.read_after(0, 10)
        assert [n.seq for n in notices] == seqs[4:]
        assert pruned == seqs[3]
    finally:
        store.close()


def test_seqs_are_never_reused_after_reopening_or_pruning(relay_url: str) -> None:
    store = RelayStore(relay_url, backlog=1)
    last = [store.append([change(f"m{i}", i)]).notices[0].seq for i in range(3)][-1]
    store.close()
    store = RelayStore(relay_url, backlog=1)
    try:
        assert store.append([change("m9", 9)]).notices[0].seq > last
        assert store.append([change("m0", 0)]).duplicates == 0  # pruned: a new notice again
    finally:
        store.close()


def test_a_smaller_backlog_prunes_at_open(relay_url: str) -> None:
    store = RelayStore(relay_url, backlog=10)
    for i in range(6):
        store.append([change(f"m{i}", i)])
    store.close()
    store = RelayStore(relay_url, backlog=2)
    try:
        assert store.bounds().count == 2
    finally:
        store.close()


def test_an_agents_ack_only_moves_forward_and_survives_reopening(relay_url: str) -> None:
    store = RelayStore(relay_url)
    assert store.acked("a1") is None
    assert store.ack("a1", 5) == 5
    assert store.ack("a1", 3) == 5
    store.touch("a2")
    store.close()
    store = RelayStore(relay_url)
    try:
        assert store.acked("a1") == 5
        assert [(a.name, a.acked_seq) for a in store.agents()] == [("a1", 5), ("a2", None)]
    finally:
        store.close()


def test_the_hook_secret_is_made_once_and_kept(relay_url: str) -> None:
    store = RelayStore(relay_url)
    made = store.hook_secret()
    assert len(made) >= 32
    assert store.hook_secret() == made
    store.close()
    store = RelayStore(relay_url)
    try:
        assert store.hook_secret() == made
        given = "g" * 40
        assert store.hook_secret(given) == given
        assert store.hook_secret() == given
    finally:
        store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_the_sqlite_files_and_new_folders_are_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "relay.db"
    store = RelayStore(f"sqlite:///{path}")
    try:
        store.append([change("m", 1)])
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == ["relay.db", "relay.db-shm", "relay.db-wal"]
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        for folder in (path.parent, path.parent.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    finally:
        store.close()


def test_sqlite_is_opened_for_durability(tmp_path: Path) -> None:
    store = RelayStore(f"sqlite:///{tmp_path / 'relay.db'}")
    try:
        with store._engine.connect() as connection:  # the pragmas every connection gets
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.close()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "mysql://u:p@h/db", "nonsense", "postgresql://h"]
)
def test_a_store_url_it_cannot_use_names_the_form_expected(url: str) -> None:
    with pytest.raises(RelayConfigError, match="expected sqlite:///") as raised:
        RelayStore(url)
    assert raised.value.setting == "store_url"


def test_a_password_in_the_store_url_is_never_shown(tmp_path: Path) -> None:
    with pytest.raises(RelayConfigError) as raised:
        RelayStore("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(raised.value)


def test_a_store_it_cannot_open_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RelayStoreError, match="cannot open the relay store"):
        RelayStore(f"sqlite:///{blocker / 'relay.db'}")
