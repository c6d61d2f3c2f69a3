"""The close pack as flat tables: the one tabular view both the CSVs and the workbook render.

Each table keeps the pack's values as they are (decimal strings stay strings); a column's kind
says how a rendering shows it: ``money`` and ``hours`` are decimals, ``measure`` is money or
hours by the row's ``unit``, ``count`` is a whole number, ``flag`` a yes/no, ``text`` anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Kind = Literal["text", "money", "hours", "measure", "count", "flag"]

BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
BUCKET_TITLES = {
    "current": "Current",
    "1_30": "1-30",
    "31_60": "31-60",
    "61_90": "61-90",
    "over_90": "Over 90",
}


def decimal_of(value: Any) -> Decimal | None:
    """A pack figure (a decimal string) as a Decimal; None for null, true/false, text that
    is not a number, and infinities or NaN."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """One table of the pack: ``name`` names its CSV, ``title`` its sheet."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    #: A closing row of the pack's own totals (aging), shown under the rows, never summed here.
    total: dict[str, Any] | None = None


def _cols(*spec: tuple[str, str] | tuple[str, str, Kind]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


def _pairs(mapping: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple({"field": key, "value": value} for key, value in mapping.items())


def _aging(name: str, title: str, ledger: dict[str, Any], who: str) -> Table:
    columns = (
        Column("number", f"{who} number"),
        Column("name", who),
        *(Column(b, BUCKET_TITLES[b], "money") for b in BUCKETS),
        Column("total", "Total", "money"),
    )
    rows = tuple(
        {
            "number": row.get("number"),
            "name": row.get("name"),
            **{b: row.get("buckets", {}).get(b) for b in BUCKETS},
            "total": row.get("total"),
        }
        for row in ledger.get("rows", [])
    )
    total = {
        "number": None,
        "name": "Total",
        **{b: ledger.get("buckets", {}).get(b) for b in BUCKETS},
        "total": ledger.get("total"),
    }
    return Table(name, title, columns, rows, total)


def tables(pack: dict[str, Any]) -> list[Table]:
    """Every table of ``pack``, in the order of the HTML document's sections."""
    status = pack.get("close_status", {})
    exceptions = pack.get("exceptions", {})
    aging = pack.get("aging", {})
    tieouts = pack.get("tieouts", [])
    result = [
        Table(
            "status",
            "Close status",
            _cols(("field", "Field"), ("value", "Value")),
            _pairs(
                {
                    "period": pack.get("period"),
                    "ready": pack.get("ready"),
                    "generated_at": pack.get("generated_at"),
                    "current_period": status.get("current_period"),
                    "locked_through": status.get("locked_through"),
                    "blocking_count": status.get("blocking_count"),
                    "aging_as_of": aging.get("as_of"),
                }
            ),
        ),
        Table(
            "blocking",
            "Blocking",
            _cols(
                ("kind", "Kind"),
                ("module", "Module"),
                ("key", "Key"),
                ("amount", "Amount", "money"),
                ("detail", "Detail"),
            ),
            tuple(pack.get("blocking", [])),
        ),
        Table(
            "tieouts",
            "Tie-outs",
            _cols(
                ("name", "Tie-out"),
                ("title", "Title"),
                ("left_label", "Left"),
                ("left", "Left figure", "measure"),
                ("right_label", "Right"),
                ("right", "Right figure", "measure"),
                ("difference", "Difference", "measure"),
                ("ties", "Ties", "flag"),
                ("unit", "Unit"),
            ),
            tuple({k: v for k, v in t.items() if k not in ("parts", "items")} for t in tieouts),
        ),
        Table(
            "tieout_parts",
            "Tie-out parts",
            _cols(
                ("tieout", "Tie-out"),
                ("name", "Part"),
                ("left", "Left", "measure"),
                ("right", "Right", "measure"),
                ("difference", "Difference", "measure"),
                ("ties", "Ties", "flag"),
                ("unit", "Unit"),
            ),
            tuple(
                {"tieout": t.get("name"), **part, "unit": t.get("unit")}
                for t in tieouts
                for part in t.get("parts", [])
            ),
        ),
        Table(
            "tieout_items",
            "Tie-out items",
            _cols(
                ("tieout", "Tie-out"),
                ("key", "Key"),
                ("document", "Document"),
                ("left", "Left", "measure"),
                ("right", "Right", "measure"),
                ("difference", "Difference", "measure"),
                ("detail", "Detail"),
                ("unit", "Unit"),
            ),
            tuple(
                {"tieout": t.get("name"), **item, "unit": t.get("unit")}
                for t in tieouts
                for item in t.get("items", [])
            ),
        ),
        _aging("aging_ar", "Aging AR", aging.get("ar", {}), "Client"),
        _aging("aging_ap", "Aging AP", aging.get("ap", {}), "Vendor"),
        Table(
            "findings",
            "Findings",
            _cols(
                ("module", "Module"),
                ("kind", "Kind"),
                ("key", "Key"),
                ("document", "Document"),
                ("amount", "Amount", "money"),
                ("detail", "Detail"),
            ),
            tuple(exceptions.get("findings", [])),
        ),
        Table(
            "findings_by_module",
            "Findings by module",
            _cols(("module", "Module"), ("kind", "Kind"), ("count", "Count", "count")),
            tuple(
                {"module": module, "kind": kind, "count": count}
                for module, kinds in exceptions.get("findings_by_module", {}).items()
                for kind, count in kinds.items()
            ),
        ),
        Table(
            "resolutions",
            "Resolutions",
            _cols(
                ("module", "Module"),
                ("key", "Key"),
                ("decision", "Decision"),
                ("by", "By"),
                ("why", "Why"),
                ("at", "At"),
            ),
            tuple(exceptions.get("resolutions", [])),
        ),
        Table(
            "quarantine",
            "Quarantine",
            _cols(
                ("system", "System"),
                ("kind", "Kind"),
                ("source_id", "Source id"),
                ("reason", "Reason"),
            ),
            tuple(exceptions.get("quarantine", [])),
        ),
        Table(
            "unmapped",
            "Unmapped",
            _cols(("module", "Module"), ("key", "Key"), ("problem", "Problem")),
            tuple(exceptions.get("unmapped", [])),
        ),
        Table(
            "postings_waiting",
            "Waiting for approval",
            _cols(
                ("id", "Posting"),
                ("module", "Module"),
                ("key", "Key"),
                ("action", "Action"),
                ("amount", "Amount", "money"),
                ("reasons", "Why it waits"),
            ),
            tuple(
                {**row, "reasons": "; ".join(str(r) for r in row.get("reasons") or [])}
                for row in exceptions.get("postings_waiting", [])
            ),
        ),
        Table(
            "postings_failed",
            "Failed postings",
            _cols(
                ("id", "Posting"),
                ("module", "Module"),
                ("key", "Key"),
                ("action", "Action"),
                ("amount", "Amount", "money"),
                ("note", "Note"),
            ),
            tuple(exceptions.get("postings_failed", [])),
        ),
        Table(
            "writebacks_failed",
            "Failed writebacks",
            _cols(("invoice", "Invoice"), ("detail", "Detail")),
            tuple(exceptions.get("writebacks_failed", [])),
        ),
        Table(
            "postings",
            "Postings",
            _cols(
                ("id", "Posting"),
                ("module", "Module"),
                ("key", "Key"),
                ("document", "Document"),
                ("action", "Action"),
                ("amount", "Amount", "money"),
                ("reason", "Reason"),
                ("state", "State"),
                ("automatic", "Automatic", "flag"),
                ("approved_by", "Approved by"),
                ("approved_why", "Why"),
                ("approved_at", "Approved at"),
                ("proposed_at", "Proposed at"),
                ("confirmed_at", "Confirmed at"),
            ),
            tuple(pack.get("postings", [])),
        ),
        Table(
            "activity",
            "Activity",
            _cols(
                ("date", "Date"), ("postings", "Postings", "count"), ("amount", "Amount", "money")
            ),
            tuple(pack.get("activity", [])),
        ),
        Table(
            "provenance",
            "Provenance",
            _cols(("field", "Field"), ("value", "Value")),
            _pairs(pack.get("provenance", {})),
        ),
    ]
    return result


def unit_kind(column: Column, row: dict[str, Any]) -> Kind:
    """The column's kind for this row: a ``measure`` is hours when the row's unit says so."""
    if column.kind == "measure":
        return "hours" if row.get("unit") == "hours" else "money"
    return column.kind
