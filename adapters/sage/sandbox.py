"""The Sage sandbox: a SQLite or PostgreSQL database with Sage's tables, constraints and
triggers, seeded like a fresh company.

``init_sandbox`` creates every table of adapters/sage/schema.py (IDENTITY, NOT NULL, defaults and
foreign keys as on a real company database) and the audit tables and triggers of
adapters/sage/ddl.py, and seeds the lookups a posting needs: the company row, a chart of accounts
that includes every account the mapping names, the mapping's tax districts and entities, the
transaction sources and cost types, a pay group and a workers' comp code, the employees and cost
codes the mapping names. It seeds no clients, jobs or vendors: recon numbers those itself from
the mapping's number starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, inspect, select

from adapters.sage.ddl import AUDIT_TABLES, drop_sandbox_ddl, install_sandbox_ddl
from adapters.sage.engine import (
    WRITE_OPTION,
    parse_url,
    postgres_engine,
    sqlite_engine,
    sqlite_path,
)
from adapters.sage.errors import SageConfigError, SandboxExistsError, translating
from adapters.sage.reader import read_tax_districts
from adapters.sage.schema import (
    DATA_TABLES,
    DISTRICT_ENTITY_COLUMNS,
    SEED_TABLES,
    TABLES,
    import_log,
    import_metadata,
    metadata,
    window_zeros,
)
from domain.mapping import Mapping, TaxEntity

__all__ = [
    "CHART_OF_ACCOUNTS",
    "COST_TYPES",
    "SANDBOX_MARKER",
    "SOURCES",
    "Account",
    "init_sandbox",
    "read_tax_districts",
    "sandbox_accounts",
    "sandbox_cost_codes",
    "sandbox_employees",
]

SANDBOX_MARKER = "recon-sandbox"  # cmpany.usrdf1 of a sandbox
SEED_USER = "recon sandbox init"
SEED_PAY_GROUP = 1
SEED_WORKERS_COMP = 1
AUDIT_TABLES_BY_NAME = {table.name: table for table in AUDIT_TABLES.values()}

# GL account types (reference §3.8).
CASH, CURRENT_ASSET, WIP_ASSET, FIXED_ASSET, DEPRECIATION = 1, 2, 3, 5, 6
CURRENT_LIABILITY, EQUITY, DRAWING = 7, 9, 10
OPERATING_INCOME, OTHER_INCOME = 11, 12
DIRECT_EXPENSE, SHOP_EXPENSE, OVERHEAD, ADMINISTRATIVE, AFTER_TAX = 13, 14, 15, 16, 17
MATERIAL = 1  # cost type of the direct expense account recon posts parts and purchases to
#: Types whose normal balance is a credit (``lgract.dbtcrd`` 2); all others are debit (1).
CREDIT_TYPES = frozenset({DEPRECIATION, CURRENT_LIABILITY, 8, EQUITY, OPERATING_INCOME, 12})


@dataclass(frozen=True, slots=True)
class Account:
    """A ledger account row to seed (``lgract``)."""

    recnum: int
    name: str
    acttyp: int
    csttyp: int | None = None


CHART_OF_ACCOUNTS: tuple[Account, ...] = (
    Account(1000, "Cash - operating", CASH),
    Account(1010, "Cash - payroll", CASH),
    Account(1100, "Accounts receivable", CURRENT_ASSET),
    Account(1150, "Retention receivable", CURRENT_ASSET),
    Account(1200, "Inventory", CURRENT_ASSET),
    Account(1300, "Work in progress", WIP_ASSET),
    Account(1500, "Equipment", FIXED_ASSET),
    Account(1550, "Accumulated depreciation", DEPRECIATION),
    Account(2000, "Accounts payable", CURRENT_LIABILITY),
    Account(2050, "Retention payable", CURRENT_LIABILITY),
    Account(2100, "Accrued payroll", CURRENT_LIABILITY),
    Account(2200, "Sales tax payable", CURRENT_LIABILITY),
    Account(3000, "Retained earnings", EQUITY),
    Account(3100, "Owner's drawing", DRAWING),
    Account(4000, "Contract income", OPERATING_INCOME),
    Account(4100, "Service income", OPERATING_INCOME),
    Account(4200, "Parts and material sales", OPERATING_INCOME),
    Account(4300, "Labor income", OPERATING_INCOME),
    Account(4900, "Other income", OTHER_INCOME),
    Account(5000, "Direct expense - material", DIRECT_EXPENSE, 1),
    Account(5100, "Direct expense - labor", DIRECT_EXPENSE, 2),
    Account(5200, "Direct expense - equipment", DIRECT_EXPENSE, 3),
    Account(5300, "Direct expense - subcontract", DIRECT_EXPENSE, 4),
    Account(5400, "Direct expense - other", DIRECT_EXPENSE, 5),
    Account(6000, "Equipment and shop expense", SHOP_EXPENSE),
    Account(7000, "Overhead expense", OVERHEAD),
    Account(8000, "Administrative expense", ADMINISTRATIVE),
    Account(9000, "Income taxes", AFTER_TAX),
)

#: Transaction sources (reference §3.6): recnum -> (menu, name).
SOURCES: dict[int, tuple[str, str]] = {
    1: ("1-1", "Checks/Bank charges"),
    2: ("1-2", "Deposits/Interest"),
    3: ("1-3", "Journal transactions"),
    4: ("1-4", "Recurring journal"),
    5: ("3-2", "Receivable invoices/credits"),
    6: ("3-11", "Recurring receivables"),
    7: ("3-7", "Progress billing"),
    8: ("3-9", "Unitary billing"),
    9: ("3-10-4", "Post T&M invoices"),
    10: ("3-3-1", "Cash receipts"),
    11: ("4-2", "Payable invoices/credits"),
    12: ("4-6", "Recurring payables"),
    13: ("12-4", "PO receipts"),
    14: ("4-3-2", "Payable checks"),
    15: ("4-3-2", "Payable vouchers"),
    16: ("5-2-6", "Post payroll"),
    17: ("5-2-6", "Post payroll (summary)"),
    18: ("5-5-1", "Daily payroll"),
    19: ("8-4", "Equipment allocation"),
    20: ("8-5", "Equipment payments"),
    21: ("8-6", "Depreciation"),
    22: ("11-2", "Service invoices/credits"),
    23: ("12-2", "Inventory allocation"),
    24: ("12-5", "Inventory audit"),
    25: ("4-3-2", "Payable credit cards"),
    26: ("4-7-3", "Credit-card receipts"),
    27: ("4-7-4", "Recurring charges"),
    28: ("4-7-6", "Pay credit cards"),
    29: ("4-3-2", "Payable direct deposit"),
    30: ("3-3-2", "Electronic receipts"),
    31: ("6-3", "Job costs"),
    32: ("8-2", "Equipment costs"),
    33: ("8-7", "Equipment revenue"),
}

#: Cost types (reference §3.5): 1-5 fixed by Sage, 6-9 user-named.
COST_TYPES: dict[int, str] = {
    1: "Material",
    2: "Labor",
    3: "Equipment",
    4: "Subcontract",
    5: "Other",
    6: "User type 6",
    7: "User type 7",
    8: "User type 8",
    9: "User type 9",
}


def _merge_role(
    chart: dict[int, Account], claims: dict[int, str], account: Account, role: str
) -> None:
    """Put a mapped account in the chart; its first role names it, a clashing type is refused."""
    claimed = claims.get(account.recnum)
    if claimed is None:
        claims[account.recnum] = role
        chart[account.recnum] = account
    elif chart[account.recnum].acttyp != account.acttyp:
        raise SageConfigError(
            f"mapping uses ledger account {account.recnum} both as {claimed} and as {role}; "
            "expected one kind of account per number"
        )


def _entities(mapping: Mapping) -> dict[int, TaxEntity]:
    entities: dict[int, TaxEntity] = {}
    for district in mapping.tax_districts.values():
        if len(district.entities) > len(DISTRICT_ENTITY_COLUMNS):
            raise SageConfigError(
                f"tax district {district.recnum} ({district.name}) has "
                f"{len(district.entities)} entities; Sage holds at most five per district"
            )
        for entity in district.entities:
            known = entities.setdefault(entity.recnum, entity)
            if known != entity:
                raise SageConfigError(
                    f"tax entity {entity.recnum} is defined twice with different values "
                    f"({known} and {entity}); expected one definition per entity"
                )
    return entities


def sandbox_accounts(mapping: Mapping) -> dict[int, Account]:
    """The chart of accounts a sandbox gets: the standard chart plus every mapped account."""
    chart = {account.recnum: account for account in CHART_OF_ACCOUNTS}
    claims: dict[int, str] = {}
    _merge_role(
        chart,
        claims,
        Account(mapping.ar_control_account, "Accounts receivable", CURRENT_ASSET),
        "the AR control account",
    )
    for entity in _entities(mapping).values():
        _merge_role(
            chart,
            claims,
            Account(entity.account, f"Sales tax payable - {entity.name}", CURRENT_LIABILITY),
            f"tax entity {entity.recnum}'s liability account",
        )
    income = [("Service income", mapping.default_income_account)]
    income += [(f"Income - {kind}", n) for kind, n in sorted(mapping.income_accounts.items())]
    for name, number in income:
        _merge_role(chart, claims, Account(number, name, OPERATING_INCOME), "an income account")
    _payable_accounts(chart, claims, mapping)
    return dict(sorted(chart.items()))


def _mapped(mapping: Mapping, name: str) -> int | None:
    """An optional account number of the mapping (older mappings lack the AP fields)."""
    value = getattr(mapping, name, None)
    return None if value is None else int(value)


def _expense_role(
    chart: dict[int, Account], claims: dict[int, str], number: int, name: str, role: str
) -> None:
    """Freight and purchase tax: a direct expense (13) or overhead (15) account. A number the
    chart already holds as either keeps its type; a new one is overhead, so posting to it needs
    no job cost distribution."""
    known = chart.get(number)
    if known is not None and known.acttyp in (DIRECT_EXPENSE, OVERHEAD):
        _merge_role(chart, claims, known, role)
    else:
        _merge_role(chart, claims, Account(number, name, OVERHEAD), role)


def _payable_accounts(chart: dict[int, Account], claims: dict[int, str], mapping: Mapping) -> None:
    """The accounts the payables, journal and job cost mapping names (reference §3.8 types)."""
    ap_control = _mapped(mapping, "ap_control_account")
    if ap_control is not None:
        account = Account(ap_control, "Accounts payable", CURRENT_LIABILITY)
        _merge_role(chart, claims, account, "the AP control account")
    inventory = _mapped(mapping, "inventory_account")
    if inventory is not None:
        account = Account(inventory, "Inventory", CURRENT_ASSET)
        _merge_role(chart, claims, account, "the inventory account")
    direct = _mapped(mapping, "direct_expense_account")
    if direct is not None:
        known = chart.get(direct)
        cost_type = (
            known.csttyp
            if known is not None and known.acttyp == DIRECT_EXPENSE and known.csttyp
            else MATERIAL
        )
        account = Account(direct, "Direct expense - job cost", DIRECT_EXPENSE, cost_type)
        _merge_role(chart, claims, account, "the direct expense account")
    freight = _mapped(mapping, "freight_account")
    if freight is not None:
        _expense_role(chart, claims, freight, "Freight", "the freight account")
    purchase_tax = _mapped(mapping, "purchase_tax_account")
    if purchase_tax is not None:
        _expense_role(chart, claims, purchase_tax, "Purchase tax", "the purchase tax account")


def sandbox_employees(mapping: Mapping) -> dict[int, tuple[str, str]]:
    """Employee number -> (last name, first name) for every employee the mapping names.

    A technician's name in the mapping names the employee (the last word is the last name);
    a number mapped only by technician id is "Employee <n>".
    """
    employees: dict[int, tuple[str, str]] = {}
    mapped: dict[str, int] = dict(getattr(mapping, "employees", None) or {})
    for who, number in sorted(mapped.items(), key=lambda item: (int(item[1]), item[0])):
        number = int(number)
        words = who.split()
        is_name = bool(words) and not who.strip().isdigit()
        name = (words[-1], " ".join(words[:-1])) if is_name else (f"Employee {number}", "")
        if number not in employees or (is_name and employees[number][0].startswith("Employee ")):
            employees[number] = name
    return dict(sorted(employees.items()))


def sandbox_cost_codes(mapping: Mapping) -> dict[Decimal, str]:
    """Cost code -> name for every cost code the mapping names (the default one included);
    a code is named after the first mapping key that uses it."""
    codes: dict[Decimal, str] = {}
    mapped: dict[str, tuple[Decimal, int]] = dict(getattr(mapping, "cost_codes", None) or {})
    entries = sorted(mapped.items())
    default = getattr(mapping, "default_cost_code", None)
    if default is not None:
        entries.append(("default", default))
    for key, (code, _cost_type) in entries:
        number = Decimal(code).quantize(Decimal("0.001"))
        codes.setdefault(number, f"recon: {key}"[:50])
    return dict(sorted(codes.items()))


def _stamp(now: datetime) -> dict[str, Any]:
    return {
        "_idnum": uuid.uuid4(),
        "entdte": now.date(),
        "usrnme": SEED_USER,
        "insdte": now.replace(tzinfo=None),
        "insusr": SEED_USER,
    }


def _seed_rows(
    mapping: Mapping, company_name: str, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    accounts = [
        {
            **_stamp(now),
            "recnum": a.recnum,
            "shtnme": a.name[:30],
            "lngnme": a.name[:50],
            "acttyp": a.acttyp,
            "csttyp": a.csttyp,
            "dbtcrd": 2 if a.acttyp in CREDIT_TYPES else 1,
        }
        for a in sandbox_accounts(mapping).values()
    ]
    entities = [
        {
            **_stamp(now),
            "recnum": e.recnum,
            "entnme": e.name[:50],
            "paynme": e.name[:50],
            "taxrt1": e.rate,
            "lmtyp1": 1,
            "lgract": e.account,
        }
        for e in sorted(_entities(mapping).values(), key=lambda e: e.recnum)
    ]
    districts = []
    for district in sorted(mapping.tax_districts.values(), key=lambda d: d.recnum):
        slots: list[int | None] = [e.recnum for e in district.entities]
        slots += [None] * (len(DISTRICT_ENTITY_COLUMNS) - len(slots))
        districts.append(
            {
                **_stamp(now),
                "recnum": district.recnum,
                "dstnme": district.name[:50],
                **dict(zip(DISTRICT_ENTITY_COLUMNS, slots, strict=True)),
            }
        )
    rows: dict[str, list[dict[str, Any]]] = {
        "cmpany": [
            {**_stamp(now), "recnum": 1, "cmpnme": company_name[:75], "usrdf1": SANDBOX_MARKER}
        ],
        "lgract": accounts,
        "taxent": entities,
        "taxdst": districts,
        "source": [
            {**_stamp(now), "recnum": n, "srcnme": name, "srcdsc": f"{menu} {name}"}
            for n, (menu, name) in SOURCES.items()
        ],
        "csttyp": [{**_stamp(now), "recnum": n, "typnme": name} for n, name in COST_TYPES.items()],
        "payuni": [],  # no union: employ.uninum is nullable
        "paygrp": [{**_stamp(now), "recnum": SEED_PAY_GROUP, "grpnme": "Field labor"}],
        "wkrcmp": [
            # employ.wrkcmp is NOT NULL with a foreign key: every employee needs a code
            {**_stamp(now), "recnum": SEED_WORKERS_COMP, "cdenme": "Sandbox workers' comp"}
        ],
        "employ": [
            {
                **_stamp(now),
                "recnum": number,
                "lstnme": last[:50],
                "fstnme": first[:50],
                "status": 1,  # Current
                "emptyp": 1,  # regular full time
                "payprd": 1,  # weekly
                "paygrp": SEED_PAY_GROUP,
                "wrkcmp": SEED_WORKERS_COMP,
            }
            for number, (last, first) in sandbox_employees(mapping).items()
        ],
        "cstcde": [
            {**_stamp(now), "recnum": code, "cdenme": name, "inactv": ""}
            for code, name in sandbox_cost_codes(mapping).items()
        ],
    }
    # Every NOT NULL column the seed says nothing about gets what a window writes: 0 or ''.
    return {
        name: [{**window_zeros(TABLES[name], row), **row} for row in table_rows]
        for name, table_rows in rows.items()
    }


def _rows_in(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    counts = {}
    for name in names:
        count = connection.execute(select(func.count()).select_from(TABLES[name])).scalar_one()
        if count:
            counts[name] = int(count)
    return counts


def init_sandbox(
    url: str,
    mapping: Mapping,
    *,
    company_name: str = "recon sandbox company",
    reset: bool = False,
    now: datetime | None = None,
) -> dict[str, int]:
    """Create (or re-seed) a Sage sandbox for ``mapping``; returns rows seeded per table.

    ``url`` is a SQLite file (``sqlite:///PATH``, the embedded default) or a PostgreSQL database
    (``postgresql://…``). Either gets every table of schema.py with Sage's constraints, the audit
    tables and triggers of ddl.py, and the seeds. Re-running on a sandbox that holds no postings,
    masters or history re-seeds the lookups (so it is idempotent and picks up mapping changes). A
    sandbox holding data, or made by an older recon (its tables differ), is refused with
    SandboxExistsError unless ``reset`` drops and recreates every Sage table. A database holding
    tables that are not Sage's is always refused. SQL Server URLs are refused: recon never
    creates or alters a production Sage database.
    """
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise SageConfigError(
            "expected a 'sqlite:///PATH' or 'postgresql://…' URL for the Sage sandbox, got "
            f"{parsed.render_as_string(hide_password=True)!r}; recon never creates tables in a "
            "production Sage database"
        )
    seeds = _seed_rows(mapping, company_name, now or datetime.now(UTC))
    if backend == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sqlite_engine(parsed, must_exist=False)
        where = str(path or parsed.database)
    else:
        engine = postgres_engine(parsed)
        where = parsed.render_as_string(hide_password=True)
    try:
        action = f"initialising the Sage sandbox at {where}"
        with (
            translating(action),
            engine.execution_options(**{WRITE_OPTION: True}).begin() as connection,
        ):
            _prepare(connection, where, reset=reset)
            metadata.create_all(connection)
            install_sandbox_ddl(connection)
            for name in reversed(SEED_TABLES):  # children first: foreign keys are on
                connection.execute(delete(TABLES[name]))
            for name in SEED_TABLES:
                if seeds[name]:
                    connection.execute(TABLES[name].insert(), seeds[name])
    finally:
        engine.dispose()
    return {name: len(seeds[name]) for name in SEED_TABLES}


def _prepare(connection: Connection, where: str, *, reset: bool) -> None:
    """Refuse a database that is not an empty one or a recon sandbox without data; with
    ``reset``, drop a sandbox's tables."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    ours = set(TABLES) | set(AUDIT_TABLES_BY_NAME) | {import_log.name}
    foreign = sorted(present - ours)
    if foreign:
        raise SandboxExistsError(
            f"expected an empty database or a recon sandbox at {where}, found other "
            f"tables ({', '.join(foreign)}); choose another database"
        )
    if reset:
        metadata.drop_all(connection)
        drop_sandbox_ddl(connection)
        import_metadata.drop_all(connection)
        return
    holding = _rows_in(connection, [n for n in DATA_TABLES if n in present])
    if holding:
        summary = ", ".join(f"{n}: {c} rows" for n, c in holding.items())
        raise SandboxExistsError(
            f"the sandbox at {where} already holds data ({summary}); "
            "pass reset to drop it and start again"
        )
    stale = sorted(
        name
        for name in present & set(TABLES)
        if {c["name"] for c in inspector.get_columns(name)} != set(TABLES[name].c.keys())
    )
    if stale:
        raise SandboxExistsError(
            f"the sandbox at {where} was made by another version of recon (tables "
            f"{', '.join(stale)} differ from Sage's as recon models them); pass reset to "
            "recreate it"
        )
