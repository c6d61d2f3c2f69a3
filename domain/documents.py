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

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

CLIENTS = "clients"
JOBS = "jobs"
VENDORS = "vendors"
AR_INVOICES = "ar_invoices"
AP_INVOICES = "ap_invoices"
JOURNAL = "journal"
JOB_COST = "job_cost"
DAILY_PAYROLL = "daily_payroll"
MODULES = (CLIENTS, JOBS, VENDORS, AR_INVOICES, AP_INVOICES, JOURNAL, JOB_COST, DAILY_PAYROLL)
#: Modules this version projects, reads and posts.
ACTIVE_MODULES = (CLIENTS, JOBS, AR_INVOICES)

#: The header table of each module's document, and the column holding its principal amount.
HEADER_TABLE = {CLIENTS: "reccln", JOBS: "actrec", AR_INVOICES: "acrinv"}
AMOUNT_COLUMN = {AR_INVOICES: "invttl"}
#: Document tables, in posting order.
DOCUMENT_TABLES = {
    CLIENTS: ("reccln",),
    JOBS: ("actrec",),
    AR_INVOICES: ("acrinv", "arivln", "artxdt", "lgrtrn", "lgtnln"),
}

# Sage codes used in documents.
AR_STATUS_OPEN = "1"
AR_STATUS_VOID = "5"
AR_TYPE_CONTRACT = "1"
GL_STATUS_OPEN = "1"
GL_STATUS_VOID = "3"
SOURCE_AR_INVOICE = "5"
JOB_STATUS_CURRENT = "4"
JOB_STATUS_COMPLETE = "5"

Row = Mapping[str, str | None]

# How each document column is written as canonical text (the Sage column type behind it):
# money = decimal(12,2) to the cent; qty = decimal(7,2); rate = 4 places (unit prices, tax
# rates); int = integer codes and numbers; date = ISO date; text = as stored, "" when empty.
MONEY, QTY, RATE, INT, DATE, TEXT = "money", "qty", "rate", "int", "date", "text"
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
}
_PLACES = {MONEY: Decimal("0.01"), QTY: Decimal("0.01"), RATE: Decimal("0.0001")}


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
    sage_ref: int | None = None  # recnum of the header row, on documents read from Sage

    @property
    def header(self) -> Row:
        return self.tables[HEADER_TABLE[self.module]][0]

    @property
    def amount(self) -> Decimal | None:
        column = AMOUNT_COLUMN.get(self.module)
        if column is None:
            return None
        value = self.header.get(column)
        return None if value is None else Decimal(value)

    @property
    def is_void(self) -> bool:
        return self.module == AR_INVOICES and self.header.get("status") == AR_STATUS_VOID

    def canonical(self) -> bytes:
        return canonical_bytes(self.tables)

    def digest(self) -> str:
        return hashlib.blake2b(self.canonical(), digest_size=16).hexdigest()

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
    return orjson.dumps(
        {name: [dict(row) for row in rows] for name, rows in tables.items()},
        option=orjson.OPT_SORT_KEYS,
    )


def period_text(year: int, period: int) -> str:
    return f"{year:04d}-{period:02d}"
