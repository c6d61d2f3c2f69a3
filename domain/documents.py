"""The rows Sage should hold, as comparable documents keyed for reconciliation.

A document is what one Sage window writes for one record: a client (3-6 ``reccln``), a job
(3-5 ``actrec``), a receivable invoice (3-2 ``acrinv`` + ``arivln`` + ``artxdt`` with its GL
transaction ``lgrtrn`` + ``lgtnln``). Rows map Sage column names to canonical text so that the
expected side (built from the ledger) and the actual side (read from Sage) compare exactly:
amounts to the cent ("12.30"), quantities to two places, dates ISO, codes as integers in text,
empty text as "", missing as None.

Columns Sage or the posting sink generates (record numbers of transactions, GUIDs, ledger
references, audit stamps) are not part of a document; they never make a difference.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from operator import itemgetter
from typing import Any

import orjson


class Module(StrEnum):
    """The Sage modules recon keeps in step, by the names users see everywhere."""

    CLIENTS = "clients"
    JOBS = "jobs"
    VENDORS = "vendors"
    AR_INVOICES = "ar_invoices"
    AP_INVOICES = "ap_invoices"
    JOURNAL = "journal"
    JOB_COST = "job_cost"
    DAILY_PAYROLL = "daily_payroll"


CLIENTS: str = Module.CLIENTS
JOBS: str = Module.JOBS
VENDORS: str = Module.VENDORS
AR_INVOICES: str = Module.AR_INVOICES
AP_INVOICES: str = Module.AP_INVOICES
JOURNAL: str = Module.JOURNAL
JOB_COST: str = Module.JOB_COST
DAILY_PAYROLL: str = Module.DAILY_PAYROLL
#: Plain names (module-level constants are typed str so tables keyed by them take any str).
MODULES: tuple[str, ...] = tuple(Module)

#: The header table of each module's document (single-row tables; others may have many rows).
HEADER_TABLE = {
    CLIENTS: "reccln",
    JOBS: "actrec",
    VENDORS: "actpay",
    AR_INVOICES: "acrinv",
    AP_INVOICES: "acpinv",
    JOURNAL: "lgrtrn",
    JOB_COST: "jobcst",
    DAILY_PAYROLL: "dlypyr",
}
#: Where each module's principal amount is: (table, column); summed when the table has many
#: rows (a journal transaction's amount is its debits). Daily payroll's "amount" is hours.
AMOUNT_COLUMN: dict[str, tuple[str, str]] = {
    AR_INVOICES: ("acrinv", "invttl"),
    AP_INVOICES: ("acpinv", "invttl"),
    JOURNAL: ("lgtnln", "dbtamt"),
    JOB_COST: ("jobcst", "cstamt"),
    DAILY_PAYROLL: ("dlypyr", "payhrs"),
}
#: Columns that move with the amount and are not reported again when it differs.
AMOUNT_PEERS: dict[str, tuple[tuple[str, str], ...]] = {JOURNAL: (("lgtnln", "crdamt"),)}
#: The header column and value that mark a void document, per module that voids.
#: A master record's counterpart is being inactive (clients, vendors) or closed (jobs).
VOID_MARK: dict[str, tuple[str, str]] = {
    CLIENTS: ("inactv", "1"),
    JOBS: ("status", "6"),
    VENDORS: ("inactv", "1"),
    AR_INVOICES: ("status", "5"),
    AP_INVOICES: ("status", "5"),
    JOURNAL: ("status", "3"),
    JOB_COST: ("status", "2"),
}
#: Document tables, in posting order.
DOCUMENT_TABLES = {
    CLIENTS: ("reccln",),
    JOBS: ("actrec",),
    VENDORS: ("actpay",),
    AR_INVOICES: ("acrinv", "arivln", "artxdt", "lgrtrn", "lgtnln"),
    AP_INVOICES: ("acpinv", "apivln", "lgrtrn", "lgtnln"),
    JOURNAL: ("lgrtrn", "lgtnln"),
    JOB_COST: ("jobcst",),
    DAILY_PAYROLL: ("dlypyr",),
}
#: Master records are edited in place; documents are voided and re-entered.
MASTER_MODULES = (CLIENTS, JOBS, VENDORS)

# Sage codes used in documents.
AR_STATUS_OPEN = "1"
AR_STATUS_VOID = "5"
AR_TYPE_CONTRACT = "1"
AP_TYPE_MEMO = "2"
GL_STATUS_OPEN = "1"
GL_STATUS_VOID = "3"
SOURCE_JOURNAL = "3"
SOURCE_AR_INVOICE = "5"
SOURCE_AP_INVOICE = "11"
SOURCE_DAILY_PAYROLL = "18"
JOB_STATUS_CURRENT = "4"
JOB_STATUS_COMPLETE = "5"
JOB_COST_OPEN = "1"
JOB_COST_VOID = "2"
BILLING_OPEN = "1"

Row = Mapping[str, str | None]

# How each document column is written as canonical text (the Sage column type behind it):
# money = decimal(12,2) to the cent; qty = decimal(7,2); rate = 4 places (unit prices, tax
# rates); code = cost codes, decimal(15,3); int = integer codes and numbers; date = ISO date;
# text = as stored, "" when empty.
MONEY, QTY, RATE, CODE, INT, DATE, TEXT = "money", "qty", "rate", "code", "int", "date", "text"
COLUMNS: dict[str, dict[str, str]] = {
    "reccln": {
        "recnum": INT,
        "clnnme": TEXT,
        "shtnme": TEXT,
        "addrs1": TEXT,
        "ctynme": TEXT,
        "state_": TEXT,
        "zipcde": TEXT,
        "phnnum": TEXT,
        "inactv": INT,
        "usrdf1": TEXT,
    },
    "actrec": {
        "recnum": INT,
        "jobnme": TEXT,
        "shtnme": TEXT,
        "clnnum": INT,
        "status": INT,
        "slstax": INT,
        "addrs1": TEXT,
        "ctynme": TEXT,
        "state_": TEXT,
        "zipcde": TEXT,
    },
    "acrinv": {
        "invnum": TEXT,
        "invdte": DATE,
        "duedte": DATE,
        "jobnum": INT,
        "dscrpt": TEXT,
        "invtyp": INT,
        "status": INT,
        "taxdst": INT,
        "taxabl": MONEY,
        "nontax": MONEY,
        "slstax": MONEY,
        "invttl": MONEY,
        "actper": INT,
        "postyr": INT,
        "usrdf1": TEXT,
    },
    "arivln": {
        "linnum": INT,
        "dscrpt": TEXT,
        "linqty": QTY,
        "linprc": RATE,
        "extprc": MONEY,
        "lgract": INT,
    },
    "artxdt": {"taxent": INT, "sbjtax": MONEY, "taxrte": RATE, "taxamt": MONEY},
    "lgrtrn": {
        "trnnum": TEXT,
        "trndte": DATE,
        "dscrpt": TEXT,
        "status": INT,
        "srcnum": INT,
        "actprd": INT,
        "postyr": INT,
        "usrdf1": TEXT,
    },
    "lgtnln": {"linnum": INT, "lgract": INT, "dscrpt": TEXT, "dbtamt": MONEY, "crdamt": MONEY},
    "actpay": {
        "recnum": INT, "vndnme": TEXT, "shtnme": TEXT, "addrs1": TEXT, "ctynme": TEXT,
        "state_": TEXT, "zipcde": TEXT, "phnnum": TEXT, "prt199": INT, "inactv": INT,
    },
    "acpinv": {
        "invnum": TEXT, "vndnum": INT, "dscrpt": TEXT, "invdte": DATE, "duedte": DATE,
        "invtyp": INT, "status": INT, "pchord": TEXT, "slstax": MONEY, "invttl": MONEY,
        "actper": INT, "postyr": INT, "usrdf1": TEXT,
    },
    "apivln": {
        "linnum": INT, "prtdsc": TEXT, "linqty": QTY, "linprc": RATE, "extttl": MONEY,
        "actnum": INT,
    },
    "jobcst": {
        "jobnum": INT, "trnnum": TEXT, "dscrpt": TEXT, "trndte": DATE, "actprd": INT,
        "postyr": INT, "srcnum": INT, "status": INT, "bllsts": INT, "cstcde": CODE,
        "csttyp": INT, "vndnum": INT, "empnum": INT, "paytyp": INT, "csthrs": QTY,
        "cstamt": MONEY,
    },
    "dlypyr": {
        "paydte": DATE, "empnum": INT, "jobnum": INT, "cstcde": CODE, "paytyp": INT,
        "payhrs": QTY, "dscrpt": TEXT, "usrdf1": TEXT,
    },
}  # fmt: skip
#: Columns recon writes but never reads back or compares (not in ``COLUMNS``): an adjusting
#: document's reference to the invoice it adjusts (``refnum``, reference §2.4/§2.8).
WRITTEN_ONLY: dict[str, dict[str, str]] = {"acrinv": {"refnum": TEXT}, "acpinv": {"refnum": TEXT}}
_PLACES = {
    MONEY: Decimal("0.01"),
    QTY: Decimal("0.01"),
    RATE: Decimal("0.0001"),
    CODE: Decimal("0.001"),
}


def canonical_value(kind: str, value: object) -> str | None:
    """The canonical text of a column value as read from Sage or built by recon."""
    if value is None:
        return None if kind != TEXT else ""
    if kind in _PLACES:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        number = number.quantize(_PLACES[kind], rounding=ROUND_HALF_UP)
        return format(number if number else abs(number), "f")
    if kind == INT:
        return str(int(str(value)))
    if kind == DATE:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]
    return str(value).rstrip()


@dataclass(frozen=True, slots=True)
class Document:
    """One record as Sage should hold it (or does hold it): module, key, period and rows."""

    module: str
    key: str
    tables: Mapping[str, tuple[Row, ...]]
    period: str | None = None  # "YYYY-MM" (posting year and period) for period-bound documents
    #: On documents read from Sage: the header row's recnum (its GUID where it has no recnum).
    sage_ref: int | str | None = None
    #: On invoices read from Sage: what has been paid on it (``ttlpad``: payments, discounts
    #: and credits applied). Not part of the comparison: recon never expects a payment.
    paid: Decimal | None = None

    @property
    def header(self) -> Row:
        return self.tables[HEADER_TABLE[self.module]][0]

    @property
    def amount(self) -> Decimal | None:
        where = AMOUNT_COLUMN.get(self.module)
        if where is None:
            return None
        table, column = where
        values = [row.get(column) for row in self.tables.get(table, ())]
        return sum((Decimal(v) for v in values if v is not None), Decimal(0))

    @property
    def is_void(self) -> bool:
        mark = VOID_MARK.get(self.module)
        return mark is not None and self.header.get(mark[0]) == mark[1]

    def canonical(self) -> bytes:
        return canonical_bytes(self.tables)

    def digest(self) -> str:
        return digest_of(self.canonical())

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "key": self.key,
            "period": self.period,
            "tables": {name: [dict(row) for row in rows] for name, rows in self.tables.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Document:
        return cls(
            module=data["module"],
            key=data["key"],
            period=data.get("period"),
            tables={name: tuple(rows) for name, rows in data["tables"].items()},
        )


def canonical_bytes(tables: Mapping[str, Sequence[Row]]) -> bytes:
    # Rows are nearly always dicts already; only other mappings need copying for orjson.
    return orjson.dumps(
        {
            name: [row if type(row) is dict else dict(row) for row in rows]
            for name, rows in tables.items()
        },
        option=orjson.OPT_SORT_KEYS,
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many documents (a whole module's).

    Rows and documents hold no reference cycles, yet each allocation burst triggers full
    collections that walk every live row: pausing cuts a 1M-row read by about 40%.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def match_digest(module: str, tables: Mapping[str, Sequence[Row]]) -> str | None:
    """A digest of a document's values in Sage's column order (``values_digest`` of
    ``DOCUMENT_TABLES``' rows as tuples in ``COLUMNS`` order): two documents with equal match
    digests hold the same value in every column of every row, so ``domain.reconcile`` finds
    nothing between them. None when the document holds a table or a column that this form
    leaves out (written-only columns aside): such a document is always compared in full."""
    order = DOCUMENT_TABLES[module]
    if any(table not in order for table in tables):
        return None
    values = []
    for table in order:
        columns, getter, width = _ROW_VALUES[table]
        rows = []
        for row in tables.get(table, ()):
            try:
                found = getter(row)
            except KeyError:  # a column left out reads as None, as the diff reads it
                found = tuple(row.get(column) for column in columns)
            if len(row) != width and not set(row).issubset(_ALLOWED[table]):
                return None
            rows.append(found)
        values.append(rows)
    return values_digest(values)


#: Per table: its columns, a getter of their values from a row, and how many there are.
_ROW_VALUES = {
    table: (tuple(columns), itemgetter(*columns), len(columns))
    for table, columns in COLUMNS.items()
}
#: The columns a document's row may hold: the table's, and those recon only writes.
_ALLOWED = {
    table: frozenset(columns) | frozenset(WRITTEN_ONLY.get(table, {}))
    for table, columns in COLUMNS.items()
}


def values_digest(values: Sequence[Sequence[Sequence[str | None]]]) -> str:
    """The digest of a document's rows as value lists, table by table (``match_digest``;
    the Sage reader makes the same lists from the columns it reads)."""
    return hashlib.blake2b(orjson.dumps(values), digest_size=16).hexdigest()


def digest_of(canonical: bytes) -> str:
    """The digest of a document's canonical bytes (what ``Document.digest`` returns)."""
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def ref_order(ref: int | str) -> tuple[int, str]:
    """Sorts Sage record numbers numerically (oldest first), GUID references after them."""
    return (ref, "") if isinstance(ref, int) else (2**63, ref)


def period_text(year: int, period: int) -> str:
    return f"{year:04d}-{period:02d}"
