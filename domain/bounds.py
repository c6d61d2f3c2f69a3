"""What Sage 100 Contractor can hold: the bounds a source value must fit before recon records it.

Each bound names the Sage column it comes from (docs/reference/sage100c-schema.md §0 and §2);
where the reference is silent the choice is written beside it. A value outside its bound is
quarantined where the payload is read, never posted: Sage would refuse it, or round it into a
value recon would then find different on every run (and void and re-enter forever).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True, slots=True)
class Bound:
    """A signed decimal column: the largest magnitude it holds at its number of places."""

    limit: Decimal
    places: int
    column: str  # the Sage column (or columns) it comes from, for messages and docs

    def fits(self, value: Decimal) -> bool:
        """Whether ``value``, rounded to the column's places as Sage would, fits the column."""
        if not value.is_finite():
            return False
        # Compared before rounding first: quantizing 1E+30 to cents overflows the context.
        if abs(value) > self.limit + 1:
            return False
        rounded = value.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)
        return abs(rounded) <= self.limit

    def describe(self) -> str:
        return f"at most {self.limit} either way ({self.column})"


#: Money on documents: decimal(12,2) (§0) — acrinv.invttl/slstax, arivln.extprc, acpinv.invttl,
#: apivln.extttl, jobcst.cstamt.
MONEY = Bound(Decimal("9999999999.99"), 2, "Sage's money columns, decimal(12,2)")
#: Quantities and hours: decimal(7,2) (§0) — arivln.linqty, apivln.linqty, jobcst.csthrs,
#: dlypyr.payhrs.
QUANTITY = Bound(Decimal("99999.99"), 2, "Sage's quantity and hours columns, decimal(7,2)")
#: Unit prices and costs: arivln.linprc and apivln.linprc are "decimal" in the reference (§2.5,
#: §2.9); recon's sandbox declares decimal(14,4), and so does this bound (our choice).
PRICE = Bound(Decimal("9999999999.9999"), 4, "Sage's unit price columns, decimal(14,4)")
#: A labor item's hourly cost becomes dlypyr.payrte: pay rates are decimal(10,4) (§0).
PAY_RATE = Bound(Decimal("999999.9999"), 4, "Sage's pay rates, decimal(10,4)")
#: Freight on a payable invoice: acpinv.freigh, decimal(9,2) (§2.8).
FREIGHT = Bound(Decimal("9999999.99"), 2, "acpinv.freigh, decimal(9,2)")

#: Significant digits and decimal places of any source number: Decimal's default precision.
#: Beyond it recon's own arithmetic would round the value (our choice; Sage's widest decimal,
#: decimal(15,3), needs fewer).
MAX_DIGITS = 28

#: Numbers that name a document in Sage: acrinv.invnum, acpinv.invnum, acpinv.pchord,
#: lgrtrn.trnnum are str(20). Cut to fit, a longer one would name another document, so it is
#: quarantined instead.
NUMBER_LENGTH = 20
#: Free text (names, descriptions, addresses, phones): recon cuts it to its Sage column (2 to 75
#: characters) as the window does. The reference is silent on anything longer; longer than
#: SQL Server's longest bounded nvarchar, nvarchar(4000), it is no name or description.
TEXT_LENGTH = 4000

#: Source ids: recon's link key lives in usrdf1, str(50) (§2.1, §2.4, §2.8): the longest link
#: prefix ("PL-BILL-", 8 characters) + the id + an adjusting document's mark (up to "~A99", 4)
#: leaves 38. Every recon key column (VARCHAR(64)) then holds every key made from an id.
SOURCE_ID_LENGTH = 38
#: A job item's id also becomes a job cost row's transaction number, jobcst.trnnum str(20),
#: after a two-letter prefix ("JI"): 18. Cut, two items could share a transaction number.
JOB_ITEM_ID_LENGTH = 18
#: Characters of a string id: ASCII letters and digits, then also ``.``, ``_`` and ``-``. An id
#: travels in URL paths (a fetch by id) and in keys, where ``~`` marks an adjustment, so
#: nothing else is taken (ServiceTrade and PartsLedger ids are integers; strings are tolerated).
SOURCE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
#: Integer ids: 64-bit, non-negative (recnum and the sources' ids are bigint).
MAX_INTEGER_ID = 2**63 - 1

#: Business dates (invoice, bill, due, receipt, use dates): Sage's ``date`` holds years 1 to
#: 9999, but its periods, due dates and aging need room either side; a date outside the years
#: 1900 to 2099 is no business date (our choice).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2099, 12, 31)

#: ``updated`` stamps (Unix seconds, UTC) that may order records and move a cursor:
#: 2000-01-01 to 2099-12-31 (our choice; cursors are stored as 64-bit integers).
FIRST_STAMP = 946_684_800
LAST_STAMP = 4_102_444_799
