"""The Sage sandbox: created with Sage's tables, seeded from the mapping, never overwritten."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.sage.engine import check_schema, create_sage_engine
from adapters.sage.errors import SageConfigError, SageDataError, SageSchemaError, SandboxExistsError
from adapters.sage.reader import read_tax_districts
from adapters.sage.sandbox import COST_TYPES, SOURCES, init_sandbox, sandbox_accounts
from adapters.sage.sql_sink import SqlPostingSink
from domain.builders import client_document
from domain.mapping import Mapping, TaxDistrict, TaxEntity
from domain.source import Company

STATE = TaxEntity(10, "North Carolina", Decimal("4.75"), 2310)
WAKE_COUNTY = TaxEntity(11, "Wake County", Decimal("2"), 2320)
TRANSIT = TaxEntity(12, "Wake Transit", Decimal("0.5"), 2320)
MAPPING = Mapping(
    ar_control_account=1200,
    default_income_account=4000,
    income_accounts={"labor": 4100, "part": 4200, "fee": 4450},
    tax_districts={
        1: TaxDistrict(1, "Wake", (STATE, WAKE_COUNTY, TRANSIT)),
        2: TaxDistrict(2, "Rest of NC", (STATE,)),
    },
    tax_group_districts={"Wake County NC": 1, "NC": 2},
)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sage.db'}"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Engine]:
    init_sandbox(_url(tmp_path), MAPPING, company_name="AFT Mechanical (sandbox)")
    engine = create_sage_engine(_url(tmp_path))
    yield engine
    engine.dispose()


def _rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "sage.db") as connection:
        rows = connection.execute(sql).fetchall()
    connection.close()
    return rows


def test_init_creates_every_sage_table(sandbox: Engine) -> None:
    check_schema(sandbox)


def test_the_chart_holds_every_account_the_mapping_names_with_sage_account_types(
    sandbox: Engine, tmp_path: Path
) -> None:
    accounts = {r[0]: r[1:] for r in _rows(tmp_path, "SELECT recnum, acttyp, dbtcrd FROM lgract")}
    assert accounts[1200] == (2, 1)  # AR control: current asset, debit
    for income in (4000, 4100, 4200, 4450):
        assert accounts[income] == (11, 2)  # operating income, credit
    for liability in (2310, 2320):
        assert accounts[liability] == (7, 2)  # sales tax payable: current liability, credit
    assert accounts[1000] == (1, 1)  # cash
    assert accounts[1300] == (3, 1)  # WIP
    assert accounts[2000] == (7, 2)  # AP control
    assert {r[0] for r in _rows(tmp_path, "SELECT csttyp FROM lgract WHERE acttyp = 13")} == {
        1,
        2,
        3,
        4,
        5,
    }


def test_sources_cost_types_and_the_company_are_seeded_but_no_clients_or_jobs(
    sandbox: Engine, tmp_path: Path
) -> None:
    sources = dict(_rows(tmp_path, "SELECT recnum, srcnme FROM source"))
    assert len(sources) == len(SOURCES) == 33
    assert sources[5] == "Receivable invoices/credits"
    assert dict(_rows(tmp_path, "SELECT recnum, typnme FROM csttyp")) == COST_TYPES
    assert _rows(tmp_path, "SELECT cmpnme FROM cmpany") == [("AFT Mechanical (sandbox)",)]
    assert _rows(tmp_path, "SELECT count(*) FROM reccln") == [(0,)]
    assert _rows(tmp_path, "SELECT count(*) FROM actrec") == [(0,)]


def test_tax_districts_read_back_equal_the_mapping(sandbox: Engine, tmp_path: Path) -> None:
    assert read_tax_districts(sandbox) == MAPPING.tax_districts
    assert _rows(tmp_path, "SELECT entty1, entty2, entty3, entty4, entty5 FROM taxdst") == [
        (10, 11, 12, None, None),
        (10, None, None, None, None),
    ]


def test_entity_accounts_given_by_the_caller_win(sandbox: Engine) -> None:
    districts = read_tax_districts(sandbox, entity_accounts={10: 2399})
    assert districts[2].entities[0].account == 2399


def test_a_production_taxent_without_an_account_column_needs_entity_accounts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "production-like.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE taxent (_idnum CHAR(32), recnum BIGINT, entnme TEXT, taxrt1 NUMERIC);"
            "CREATE TABLE taxdst (_idnum CHAR(32), recnum BIGINT, dstnme TEXT, entty1 INT,"
            " entty2 INT, entty3 INT, entty4 INT, entty5 INT);"
            "INSERT INTO taxent VALUES ('a', 7, 'Ohio  ', 5.75);"
            "INSERT INTO taxdst VALUES ('b', 3, 'Columbus', 7, NULL, 0, NULL, NULL);"
        )
    connection.close()
    engine = create_sage_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(SageDataError, match="tax entity 7 has no liability account"):
            read_tax_districts(engine)
        ohio = TaxEntity(7, "Ohio", Decimal("5.75"), 2300)
        assert read_tax_districts(engine, entity_accounts={7: 2300}) == {
            3: TaxDistrict(3, "Columbus", (ohio,))
        }
    finally:
        engine.dispose()


def test_init_again_without_data_is_idempotent(sandbox: Engine, tmp_path: Path) -> None:
    query = "SELECT recnum, lngnme, acttyp FROM lgract ORDER BY recnum"
    before = _rows(tmp_path, query)
    counts = init_sandbox(_url(tmp_path), MAPPING, company_name="AFT Mechanical (sandbox)")
    assert _rows(tmp_path, query) == before
    assert counts["source"] == 33 and counts["taxdst"] == 2
    assert _rows(tmp_path, "SELECT count(*) FROM cmpany") == [(1,)]


def test_init_refuses_a_sandbox_holding_data_unless_reset(sandbox: Engine, tmp_path: Path) -> None:
    acme = Company("5", "Acme Mechanical", "active", True, False)
    SqlPostingSink(sandbox).create(client_document(acme, 1001))
    with pytest.raises(SandboxExistsError, match=r"reccln: 1 rows.*reset"):
        init_sandbox(_url(tmp_path), MAPPING)
    assert _rows(tmp_path, "SELECT count(*) FROM reccln") == [(1,)]
    init_sandbox(_url(tmp_path), MAPPING, reset=True)
    assert _rows(tmp_path, "SELECT count(*) FROM reccln") == [(0,)]
    assert read_tax_districts(sandbox) == MAPPING.tax_districts


def test_init_refuses_a_database_that_is_not_a_sandbox(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "sage.db") as connection:
        connection.execute("CREATE TABLE stored_events (id INTEGER)")
    connection.close()
    with pytest.raises(SandboxExistsError, match="stored_events"):
        init_sandbox(_url(tmp_path), MAPPING, reset=True)


def test_init_refuses_anything_but_sqlite() -> None:
    with pytest.raises(SageConfigError, match="never creates tables in a production"):
        init_sandbox("mssql+pyodbc://sa:pw@host/Co?driver=ODBC+Driver+18+for+SQL+Server", MAPPING)


def test_a_mapping_using_one_account_for_two_kinds_is_refused(tmp_path: Path) -> None:
    clash = Mapping(ar_control_account=4000, default_income_account=4000)
    with pytest.raises(SageConfigError, match="ledger account 4000"):
        init_sandbox(_url(tmp_path), clash)


def test_a_district_with_more_than_five_entities_is_refused() -> None:
    many = tuple(TaxEntity(n, f"E{n}", Decimal(1), 2300) for n in range(1, 7))
    mapping = Mapping(1200, 4000, tax_districts={1: TaxDistrict(1, "Too many", many)})
    with pytest.raises(SageConfigError, match="at most five"):
        sandbox_accounts(mapping)
    with pytest.raises(SageConfigError, match="at most five"):
        init_sandbox("sqlite://", mapping)


def test_a_missing_tax_table_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    sqlite3.connect(path).close()
    engine = create_sage_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(SageSchemaError, match="taxdst"):
            read_tax_districts(engine)
    finally:
        engine.dispose()


COSTS_MAPPING = Mapping(
    ar_control_account=1100,
    default_income_account=4000,
    ap_control_account=2010,
    inventory_account=1210,
    direct_expense_account=5100,
    freight_account=5400,
    purchase_tax_account=7150,
    employees={"Dana Q Smith": 12, "12": 12, "tech-7": 7, "31": 31},
    cost_codes={"part": (Decimal("1.1"), 1), "hvac/labor": (Decimal("2.000"), 2)},
    default_cost_code=(Decimal("9"), 5),
)


def test_the_chart_holds_the_payables_and_job_cost_accounts_the_mapping_names() -> None:
    chart = sandbox_accounts(COSTS_MAPPING)
    assert (chart[2010].acttyp, chart[1210].acttyp) == (7, 2)  # AP control, inventory
    assert (chart[5100].acttyp, chart[5100].csttyp) == (13, 2)  # keeps the labor cost type
    assert chart[5400].acttyp == 13  # freight on a direct expense account stays one
    assert chart[7150].acttyp == 15  # a new purchase tax account is overhead
    fresh = sandbox_accounts(Mapping(1100, 4000, direct_expense_account=5600))
    assert (fresh[5600].acttyp, fresh[5600].csttyp) == (13, 1)
    with pytest.raises(SageConfigError, match="ledger account 4000"):
        sandbox_accounts(Mapping(1100, 4000, ap_control_account=4000))
    with pytest.raises(SageConfigError, match="the freight account"):
        sandbox_accounts(Mapping(1100, 4000, freight_account=2000, ap_control_account=2000))


def test_employees_and_cost_codes_the_mapping_names_are_seeded(tmp_path: Path) -> None:
    counts = init_sandbox(_url(tmp_path), COSTS_MAPPING)
    assert (counts["employ"], counts["cstcde"]) == (3, 3)
    assert _rows(tmp_path, "SELECT recnum, lstnme, fstnme, status FROM employ ORDER BY recnum") == [
        (7, "tech-7", "", 1),
        (12, "Smith", "Dana Q", 1),
        (31, "Employee 31", "", 1),
    ]
    codes = _rows(tmp_path, "SELECT CAST(recnum AS TEXT), cdenme FROM cstcde ORDER BY recnum")
    assert codes == [("1.1", "recon: part"), ("2", "recon: hvac/labor"), ("9", "recon: default")]


def test_reset_also_drops_the_import_log_of_the_simulated_file_import(tmp_path: Path) -> None:
    init_sandbox(_url(tmp_path), MAPPING)
    with sqlite3.connect(tmp_path / "sage.db") as connection:
        connection.execute("CREATE TABLE recon_import_log (batch_id TEXT PRIMARY KEY)")
        connection.execute("INSERT INTO recon_import_log VALUES ('batch-1')")
    connection.close()
    init_sandbox(_url(tmp_path), MAPPING)  # not taken for a foreign table
    init_sandbox(_url(tmp_path), MAPPING, reset=True)
    tables = {name for (name,) in _rows(tmp_path, "SELECT name FROM sqlite_master")}
    assert "recon_import_log" not in tables and "dlypyr" in tables
