"""Every key a document is known by: recon's link keys, natural keys and Sage references."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from domain.documents import (
    AP_INVOICES,
    AR_INVOICES,
    CLIENTS,
    DAILY_PAYROLL,
    JOB_COST,
    JOBS,
    JOURNAL,
    SOURCE_JOURNAL,
    VENDORS,
    Row,
)

#: Link keys recon writes into a Sage user-defined field (``usrdf1``), one per source entity.
CLIENT_LINK = "ST-CO-"
INVOICE_LINK = "ST-INV-"
BILL_LINK = "PL-BILL-"
PARTS_LINK = "ST-JI-"
LABOR_LINK = "ST-LB-"
#: Natural keys of modules whose Sage records carry no link key: the Sage number is the key.
JOB_NUMBER = "JOB-"
VENDOR_NUMBER = "VND-"
JOB_COST_ROW = "JC-"
#: Sage records no link key names: ``SAGE-<table>-<record number or row GUID>``.
SAGE_CLIENT = "SAGE-reccln-"
SAGE_AR_INVOICE = "SAGE-acrinv-"
SAGE_AP_INVOICE = "SAGE-acpinv-"
SAGE_JOURNAL = "SAGE-lgrtrn-"
SAGE_PAYROLL = "SAGE-dlypyr-"
#: Transaction number prefixes recon gives the journal entries and job cost rows it posts.
PARTS_TRANSACTION = "JI"
LABOR_TRANSACTION = "LB"

#: Which module a key belongs to, by its prefix.
MODULE_OF_PREFIX = {
    CLIENT_LINK: CLIENTS,
    SAGE_CLIENT: CLIENTS,
    JOB_NUMBER: JOBS,
    VENDOR_NUMBER: VENDORS,
    INVOICE_LINK: AR_INVOICES,
    SAGE_AR_INVOICE: AR_INVOICES,
    BILL_LINK: AP_INVOICES,
    SAGE_AP_INVOICE: AP_INVOICES,
    PARTS_LINK: JOURNAL,
    SAGE_JOURNAL: JOURNAL,
    JOB_COST_ROW: JOB_COST,
    LABOR_LINK: DAILY_PAYROLL,
    SAGE_PAYROLL: DAILY_PAYROLL,
}


class UnknownKey(ValueError):
    """A text that is not a key recon knows; the message names the forms expected."""


def client_key(company_id: str) -> str:
    return f"{CLIENT_LINK}{company_id}"


def job_key(job_number: int) -> str:
    return f"{JOB_NUMBER}{job_number}"


def invoice_key(invoice_id: str) -> str:
    return f"{INVOICE_LINK}{invoice_id}"


def vendor_key(number: int) -> str:
    return f"{VENDOR_NUMBER}{number}"


def bill_key(bill_id: str) -> str:
    return f"{BILL_LINK}{bill_id}"


def parts_key(item_id: str) -> str:
    return f"{PARTS_LINK}{item_id}"


def labor_key(item_id: str) -> str:
    return f"{LABOR_LINK}{item_id}"


def payroll_ref_key(guid: str) -> str:
    """A daily payroll line recon did not post, by its row GUID (the table has no number)."""
    return f"{SAGE_PAYROLL}{guid}"


def bill_id_of(key: str) -> str:
    """The PartsLedger bill id of a payable invoice's link key (other keys as they are)."""
    return key.removeprefix(BILL_LINK)


#: A parts job cost row recon enters to adjust one in a locked period: its transaction number
#: is the original's with ``-A<n>`` (cut to Sage's 20 characters, so it may not name the
#: original whole) and its description names the original's whole.
ADJUSTS_JOB_COST = "Adjusts job cost "
_ADJUSTING_TRANSACTION = re.compile(re.escape(PARTS_TRANSACTION) + r".*-A([1-9]\d*)")
_ADJUSTED_TRANSACTION = re.compile(
    re.escape(ADJUSTS_JOB_COST) + "(" + re.escape(PARTS_TRANSACTION) + r"\S+)"
)


def job_cost_key(row: Row) -> str:
    """A job cost row's natural key: the source transaction, job, cost code and type, and
    the vendor or employee and pay type it carries.

    A parts row (source 3) numbered ``…-A<n>`` whose description is ``Adjusts job cost
    <original's number>`` adjusts that original: its key is the original's with ``~A<n>``
    (``adjusted_key`` reads it)."""
    trnnum = str(row.get("trnnum"))
    if row.get("srcnum") == SOURCE_JOURNAL:
        adjusting = _ADJUSTING_TRANSACTION.fullmatch(trnnum)
        original = _ADJUSTED_TRANSACTION.fullmatch(str(row.get("dscrpt") or ""))
        if adjusting is not None and original is not None:
            of = job_cost_key({**row, "trnnum": original.group(1), "dscrpt": None})
            return f"{of}{ADJUSTMENT_MARK}{adjusting.group(1)}"
    key = (
        f"{JOB_COST_ROW}{row.get('srcnum')}-{trnnum}-{row.get('jobnum')}"
        f"-{row.get('cstcde')}-{row.get('csttyp')}"
    )
    if row.get("vndnum"):
        key += f"-V{row.get('vndnum')}"
    if row.get("empnum"):
        key += f"-E{row.get('empnum')}-P{row.get('paytyp')}"
    return key


#: A job cost key's head (the source) and tail (job, cost code and type, vendor / employee);
#: the transaction number between them may itself hold "-".
JOB_COST_HEAD = re.compile(r"JC-(-?\d+|None)-")
JOB_COST_TAIL = re.compile(
    r"-(-?\d+|None)-(-?\d+\.\d{3}|None)-(-?\d+|None)(?:-V-?\d+)?(?:-E-?\d+-P(?:-?\d+|None))?"
)


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """How a record-numbered module keys its documents: recon's link key in ``usrdf1`` when it
    carries ``link`` (None: the module has no link key), else ``ref`` + the record number."""

    link: str | None
    ref: str

    def key(self, recnum: int, usrdf1: str | None) -> str:
        if self.link is not None and usrdf1 and usrdf1.startswith(self.link):
            return usrdf1
        return f"{self.ref}{recnum}"

    def recnum(self, key: str) -> int | None:
        match = re.fullmatch(re.escape(self.ref) + r"(\d+)", key)
        return None if match is None else int(match.group(1))


RECORD_KEYS = {
    CLIENTS: RecordKeys(CLIENT_LINK, SAGE_CLIENT),
    JOBS: RecordKeys(None, JOB_NUMBER),
    VENDORS: RecordKeys(None, VENDOR_NUMBER),
    AR_INVOICES: RecordKeys(INVOICE_LINK, SAGE_AR_INVOICE),
    AP_INVOICES: RecordKeys(BILL_LINK, SAGE_AP_INVOICE),
    JOURNAL: RecordKeys(PARTS_LINK, SAGE_JOURNAL),
}


def payroll_key(guid: str, usrdf1: str | None) -> str:
    """A daily payroll line's key: recon's link key, else its row GUID."""
    if usrdf1 and usrdf1.startswith(LABOR_LINK):
        return usrdf1
    return payroll_ref_key(guid)


#: Marks the key of an adjusting document (credit or debit memo, reversing entry) recon enters
#: in the open period for a document it may not void: ``ST-INV-123~A1``, ``~A2``, ...
ADJUSTMENT_MARK = "~A"
#: Sage's ``usrdf1`` is str(50): every key recon writes there fits.
LINK_KEY_LENGTH = 50
_ADJUSTMENT = re.compile(r"(.+)" + re.escape(ADJUSTMENT_MARK) + r"([1-9]\d*)")


def adjustment_key(key: str, number: int) -> str:
    """The key of the ``number``-th adjusting document of the document keyed ``key``."""
    adjusting = f"{key}{ADJUSTMENT_MARK}{number}"
    if number < 1 or len(adjusting) > LINK_KEY_LENGTH:
        raise UnknownKey(
            f"{adjusting!r}: expected an adjustment number from 1 and a key of at most "
            f"{LINK_KEY_LENGTH} characters (Sage's usrdf1)"
        )
    return adjusting


def adjusted_key(key: str) -> str | None:
    """The key of the document an adjusting document's key adjusts; None for other keys."""
    match = _ADJUSTMENT.fullmatch(key)
    return None if match is None else match.group(1)


def adjustment_number(key: str) -> int | None:
    """Which adjustment of its original a key is (1, 2, ...); None for other keys."""
    match = _ADJUSTMENT.fullmatch(key)
    return None if match is None else int(match.group(2))


def next_adjustment_key(key: str, held_keys: Iterable[str]) -> str:
    """The key of the next adjusting document of ``key``, after every one Sage holds (void
    ones included: a number is never used twice)."""
    numbers = [
        number
        for held in held_keys
        if adjusted_key(held) == key and (number := adjustment_number(held)) is not None
    ]
    return adjustment_key(key, max(numbers, default=0) + 1)


def module_of_key(key: str) -> str:
    """The module a finding key belongs to."""
    for prefix, module in MODULE_OF_PREFIX.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return module
    raise UnknownKey(
        f"{key!r} is not a finding key: expected one starting "
        + ", ".join(f"{p}…" for p in MODULE_OF_PREFIX)
    )
