"""The close pack as one self-contained HTML document: inline CSS and SVG, no script, no URL.

Every figure is the pack's own string, right-aligned; every text is escaped (payloads come from
outside). Charts are drawn to scale from the same figures, which stay printed beside them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from adapters.report.tables import BUCKET_TITLES, BUCKETS, decimal_of

BUCKET_COLOURS = {
    "current": "#3f6e9e",
    "1_30": "#6f9cc4",
    "31_60": "#d9a23b",
    "61_90": "#d5702f",
    "over_90": "#a8322a",
}
GOOD, BAD, INK, MUTED, RULE = "#1e6b34", "#a8322a", "#1b1f24", "#5b6470", "#d5dae1"

CSS = """
@page { size: letter landscape; margin: 12mm 11mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 1180px; padding: 28px 36px 48px; color: #1b1f24;
  font: 13px/1.45 "Liberation Sans", "Helvetica Neue", Arial, sans-serif; background: #fff; }
header.doc { border-bottom: 3px solid #1b1f24; padding-bottom: 10px; margin-bottom: 18px;
  display: flex; justify-content: space-between; align-items: flex-end; }
header.doc h1 { font-size: 24px; margin: 0; letter-spacing: .2px; }
header.doc .meta { color: #5b6470; text-align: right; font-size: 12px; }
h2 { font-size: 17px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d5dae1; }
h2 .no { display: inline-block; min-width: 26px; color: #5b6470; }
h3 { font-size: 14px; margin: 20px 0 6px; }
h3 .sub { font-weight: normal; color: #5b6470; }
p { margin: 6px 0; }
.verdict { border: 2px solid; border-radius: 6px; padding: 14px 20px; margin: 8px 0 14px;
  display: flex; align-items: baseline; gap: 24px; }
.verdict strong { font-size: 28px; letter-spacing: 1px; }
.verdict.ready { border-color: #1e6b34; background: #e7f3ea; color: #1e6b34; }
.verdict.not-ready { border-color: #a8322a; background: #fbeceb; color: #a8322a; }
.verdict span { font-size: 15px; color: #1b1f24; }
dl.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px 18px; margin: 0 0 14px; }
dl.facts div { border-left: 3px solid #d5dae1; padding-left: 10px; }
dl.facts dt { color: #5b6470; font-size: 11px; text-transform: uppercase; letter-spacing: .4px; }
dl.facts dd { margin: 0; font-size: 15px; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e3e7ec; vertical-align: top;
  text-align: left; }
thead th { background: #eef1f5; border-bottom: 1.5px solid #9aa4b1; font-size: 11.5px;
  text-transform: uppercase; letter-spacing: .3px; color: #333b45; white-space: nowrap; }
tfoot td, tfoot th { border-top: 1.5px solid #1b1f24; border-bottom: 3px double #1b1f24;
  font-weight: bold; }
tbody tr:nth-child(even) td { background: #f8f9fb; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums;
  font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace; font-size: 12px; }
thead th.num { font-family: inherit; font-size: 11.5px; }
td.neg { color: #a8322a; font-weight: bold; }
td.neg::after { content: " \\25BC"; font-size: 9px; }
td.null { color: #9aa4b1; }
td.key, span.key { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 11.5px; }
.small { color: #5b6470; font-size: 11px; }
.unit { color: #5b6470; font-size: 10.5px; margin-left: 2px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px;
  font-weight: bold; white-space: nowrap; }
.badge.ok { background: #e7f3ea; color: #1e6b34; border: 1px solid #1e6b34; }
.badge.bad { background: #fbeceb; color: #a8322a; border: 1px solid #a8322a; }
p.none { color: #5b6470; font-style: italic; margin: 2px 0 10px; }
.charts { display: flex; gap: 28px; flex-wrap: wrap; margin: 6px 0 12px; }
figure { margin: 0; }
figcaption { font-weight: bold; font-size: 12.5px; margin-bottom: 4px; }
svg text { font-family: "Liberation Sans", Arial, sans-serif; }
.tieout { border-left: 3px solid #d5dae1; padding-left: 12px; margin: 10px 0 16px;
  break-inside: avoid; }
.tieout.bad { border-left-color: #a8322a; }
.wide td, .wide th { font-size: 11.5px; padding: 3px 6px; }
table.narrow { width: auto; min-width: 55%; }
td.ts { white-space: nowrap; font-size: 11px; }
footer.doc { margin-top: 36px; padding-top: 8px; border-top: 1px solid #d5dae1; color: #5b6470;
  font-size: 11px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  section + section { break-before: page; }
  thead { display: table-header-group; }
  tr, figure, .verdict { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
"""


def _e(value: Any) -> str:
    """Any value as escaped text; null as an empty string."""
    return "" if value is None else escape(str(value), quote=True)


def _num(value: Any, unit: str | None = None) -> str:
    """A figure cell: the pack's string exactly, right-aligned, a negative one marked."""
    if value is None:
        return '<td class="num null">&mdash;</td>'
    number = decimal_of(value)
    classes = "num neg" if number is not None and number < 0 else "num"
    suffix = '<span class="unit">h</span>' if unit == "hours" else ""
    return f'<td class="{classes}">{_e(value)}{suffix}</td>'


def _txt(value: Any, cls: str = "") -> str:
    if value is None:
        return '<td class="null">&mdash;</td>'
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{_e(value)}</td>"


def _badge(ties: Any) -> str:
    if ties:
        return '<span class="badge ok">&#10003; ties</span>'
    return '<span class="badge bad">&#10007; does not tie</span>'


def _table(
    headers: Sequence[tuple[str, bool]],
    rows: Iterable[dict[str, Any]],
    cells: Callable[[dict[str, Any]], str],
    *,
    foot: str = "",
    cls: str = "",
) -> str:
    """A table of ``rows`` (each rendered by ``cells``), or "none" when there are none.
    ``headers`` are (title, is_figure) pairs."""
    body = "".join(f"<tr>{cells(row)}</tr>" for row in rows)
    if not body:
        return '<p class="none">none</p>'
    head = "".join(
        f'<th scope="col" class="num">{_e(title)}</th>' if figure else f"<th>{_e(title)}</th>"
        for title, figure in headers
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def _scale(values: Iterable[Decimal | None]) -> Decimal:
    top = max((abs(v) for v in values if v is not None), default=Decimal(0))
    return top if top > 0 else Decimal(1)


# Charts -------------------------------------------------------------------------------------


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(label)}">{body}</svg>'
    )


def tieout_strip(tieouts: Sequence[dict[str, Any]]) -> str:
    """A tick or a cross per tie-out, its name beneath."""
    cell, per_row = 158, 7
    rows = max(1, -(-len(tieouts) // per_row))
    width, height = cell * min(per_row, max(1, len(tieouts))), rows * 86
    parts = []
    for i, tie in enumerate(tieouts):
        x, y = (i % per_row) * cell, (i // per_row) * 86
        ok = bool(tie.get("ties"))
        colour = GOOD if ok else BAD
        mark = (
            f'<path d="M{x + 61} {y + 26} l11 11 l22 -22" stroke="#fff" stroke-width="6" '
            'fill="none" stroke-linecap="round" stroke-linejoin="round"/>'
            if ok
            else f'<path d="M{x + 63} {y + 13} l24 24 M{x + 87} {y + 13} l-24 24" stroke="#fff" '
            'stroke-width="6" fill="none" stroke-linecap="round"/>'
        )
        name = str(tie.get("name") or "")
        shown = name if len(name) <= 22 else name[:21] + "\u2026"
        parts.append(
            f"<g><title>{_e(tie.get('title'))}: {_e(tie.get('difference'))}</title>"
            f'<rect x="{x + 50}" y="{y + 2}" width="48" height="46" rx="8" fill="{colour}"/>'
            f"{mark}"
            f'<text x="{x + 74}" y="{y + 66}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{_e(shown)}</text>'
            f'<text x="{x + 74}" y="{y + 80}" text-anchor="middle" font-size="11" '
            f'fill="{colour}">{"ties" if ok else _e(tie.get("difference"))}</text></g>'
        )
    return _svg(width, height, "Tie-out status", "".join(parts))


def aging_chart(title: str, ledger: dict[str, Any], top: Decimal) -> str:
    """Horizontal bars of one ledger's aging by bucket, on a scale shared with the other."""
    label_w, bar_w, value_w, row_h = 64, 300, 92, 26
    width, height = label_w + bar_w + value_w, row_h * len(BUCKETS) + 8
    buckets = ledger.get("buckets") or {}
    parts = [
        f'<line x1="{label_w}" y1="0" x2="{label_w}" y2="{height - 4}" stroke="{MUTED}"/>',
    ]
    for i, bucket in enumerate(BUCKETS):
        y = 4 + i * row_h
        value = buckets.get(bucket)
        number = decimal_of(value) or Decimal(0)
        length = int((abs(number) / top) * bar_w) if number else 0
        colour = BUCKET_COLOURS[bucket] if number >= 0 else BAD
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="11.5" '
            f'fill="{INK}">{BUCKET_TITLES[bucket]}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(length, 1 if number else 0)}" '
            f'height="{row_h - 8}" fill="{colour}"><title>{_e(title)} {BUCKET_TITLES[bucket]}: '
            f"{_e(value)}</title></rect>"
            f'<text x="{label_w + length + 5}" y="{y + 16}" font-size="11.5" '
            f'fill="{INK}">{_e(value if value is not None else "")}</text>'
        )
    return (
        f"<figure><figcaption>{_e(title)}: {_e(ledger.get('total'))}</figcaption>"
        f"{_svg(width, height, title, ''.join(parts))}</figure>"
    )


def _days(period: str, activity: Sequence[dict[str, Any]]) -> list[str]:
    days = {str(row.get("date")) for row in activity if row.get("date")}
    try:
        year, month = (int(p) for p in period.split("-"))
        count = calendar.monthrange(year, month)[1]
        days |= {f"{year:04d}-{month:02d}-{d:02d}" for d in range(1, count + 1)}
    except ValueError:
        pass
    return sorted(days)


def activity_chart(period: str, activity: Sequence[dict[str, Any]]) -> str:
    """A bar per day of the period: how many postings recon confirmed in Sage that day."""
    by_day = {str(row.get("date")): row for row in activity}
    days = _days(period, activity)
    top = max((int(row.get("postings") or 0) for row in activity), default=0) or 1
    col, plot_h, left = 30, 120, 28
    width, height = left + col * max(1, len(days)) + 4, plot_h + 44
    parts = [
        f'<line x1="{left}" y1="{plot_h + 14}" x2="{width}" y2="{plot_h + 14}" stroke="{MUTED}"/>',
        f'<text x="{left - 6}" y="18" text-anchor="end" font-size="10" fill="{MUTED}">{top}</text>',
        f'<text x="{left - 6}" y="{plot_h + 14}" text-anchor="end" font-size="10" '
        f'fill="{MUTED}">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * col
        row = by_day.get(day)
        count = int(row.get("postings") or 0) if row else 0
        h = int(count / top * plot_h)
        if count:
            parts.append(
                f'<rect x="{x + 5}" y="{plot_h + 14 - h}" width="{col - 10}" height="{h}" '
                f'fill="#3f6e9e"><title>{_e(day)}: {count} postings, '
                f"{_e(row.get('amount') if row else '')}</title></rect>"
                f'<text x="{x + col / 2}" y="{plot_h + 10 - h}" text-anchor="middle" '
                f'font-size="11" font-weight="bold" fill="{INK}">{count}</text>'
            )
        parts.append(
            f'<text x="{x + col / 2}" y="{plot_h + 30}" text-anchor="middle" font-size="10" '
            f'fill="{MUTED}">{_e(day[8:] or day)}</text>'
        )
    return _svg(width, height, "Postings per day", "".join(parts))


# Sections -----------------------------------------------------------------------------------


def _facts(items: Sequence[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<div><dt>{_e(k)}</dt><dd>{_e(v) if v is not None else '&mdash;'}</dd></div>"
        for k, v in items
    )
    return f'<dl class="facts">{cells}</dl>'


def _section(number: int, anchor: str, title: str, body: str) -> str:
    return (
        f'<section id="{anchor}"><h2><span class="no">{number}</span>{_e(title)}</h2>'
        f"{body}</section>"
    )


def close_status(pack: dict[str, Any]) -> str:
    status = pack.get("close_status") or {}
    blocking = pack.get("blocking") or []
    count = status.get("blocking_count", len(blocking))
    if pack.get("ready"):
        verdict = (
            '<div class="verdict ready"><strong>READY TO CLOSE</strong>'
            f"<span>{_e(pack.get('period'))}: nothing blocks close.</span></div>"
        )
    else:
        verdict = (
            '<div class="verdict not-ready"><strong>NOT READY TO CLOSE</strong>'
            f"<span>{_e(pack.get('period'))}: {_e(count)} "
            f"{'item blocks' if count == 1 else 'items block'} close.</span></div>"
        )
    facts = _facts(
        [
            ("Period", pack.get("period")),
            ("Sage current period", status.get("current_period")),
            ("Sage locked through", status.get("locked_through")),
            ("Blocking items", count),
        ]
    )
    table = _table(
        [("Kind", False), ("Module", False), ("Key", False), ("Amount", True), ("Detail", False)],
        blocking,
        lambda r: (
            _txt(str(r.get("kind") or "").replace("_", " "))
            + _txt(r.get("module"))
            + _txt(r.get("key"), "key")
            + _num(r.get("amount"))
            + _txt(r.get("detail"))
        ),
    )
    return _section(
        1, "status", "Close status", f"{verdict}{facts}<h3>What blocks close</h3>{table}"
    )


def _figure_cells(row: dict[str, Any], unit: str | None) -> str:
    return (
        _num(row.get("left"), unit)
        + _num(row.get("right"), unit)
        + _num(row.get("difference"), unit)
    )


def _tieout_detail(t: dict[str, Any]) -> str:
    """One tie-out's parts, and when it does not tie, the documents that explain it."""
    unit = t.get("unit")

    def part(p: dict[str, Any]) -> str:
        figures = _figure_cells(p, None if p.get("name") == "count" else unit)
        return _txt(p.get("name")) + figures + f"<td>{_badge(p.get('ties'))}</td>"

    def item(i: dict[str, Any]) -> str:
        return (
            _txt(i.get("key"), "key")
            + _txt(i.get("document"), "key")
            + _figure_cells(i, unit)
            + _txt(i.get("detail"))
        )

    parts = _table(
        [("Part", False), ("Left", True), ("Right", True), ("Difference", True), ("", False)],
        t.get("parts") or [],
        part,
        cls="narrow",
    )
    block = (
        f'<div class="tieout{"" if t.get("ties") else " bad"}">'
        f'<h3>{_e(t.get("title"))} <span class="sub">{_e(t.get("left_label"))} against '
        f"{_e(t.get('right_label'))}</span> {_badge(t.get('ties'))}</h3>"
        f'<p class="small">Parts</p>{parts}'
    )
    if not t.get("ties"):
        items = _table(
            [
                ("Key", False),
                ("Document", False),
                (str(t.get("left_label") or "Left"), True),
                (str(t.get("right_label") or "Right"), True),
                ("Difference", True),
                ("Detail", False),
            ],
            t.get("items") or [],
            item,
        )
        block += f'<p class="small">Documents that explain the difference</p>{items}'
    return block + "</div>"


def tieouts(pack: dict[str, Any]) -> str:
    ties = pack.get("tieouts") or []
    summary = _table(
        [
            ("Tie-out", False),
            ("Left side", False),
            ("Left", True),
            ("Right side", False),
            ("Right", True),
            ("Difference", True),
            ("Result", False),
        ],
        ties,
        lambda t: (
            f'<td>{_e(t.get("title"))}<br><span class="small key">{_e(t.get("name"))}'
            "</span></td>"
            + _txt(t.get("left_label"))
            + _num(t.get("left"), t.get("unit"))
            + _txt(t.get("right_label"))
            + _num(t.get("right"), t.get("unit"))
            + _num(t.get("difference"), t.get("unit"))
            + f"<td>{_badge(t.get('ties'))}</td>"
        ),
    )
    details = [_tieout_detail(t) for t in ties]
    chart = f"<figure>{tieout_strip(ties)}</figure>" if ties else ""
    return _section(2, "tieouts", "Tie-outs", chart + summary + "".join(details))


def _aging_table(ledger: dict[str, Any], who: str) -> str:
    headers = [(f"{who} no.", False), (who, False)]
    headers += [(BUCKET_TITLES[b], True) for b in BUCKETS] + [("Total", True)]
    buckets = ledger.get("buckets") or {}
    foot = (
        '<tfoot><tr><th scope="row" colspan="2">Total</th>'
        + "".join(_num(buckets.get(b)) for b in BUCKETS)
        + _num(ledger.get("total"))
        + "</tr></tfoot>"
    )
    return _table(
        headers,
        ledger.get("rows") or [],
        lambda r: (
            _txt(r.get("number"), "key")
            + _txt(r.get("name"))
            + "".join(_num((r.get("buckets") or {}).get(b)) for b in BUCKETS)
            + _num(r.get("total"))
        ),
        foot=foot,
    )


def aging(pack: dict[str, Any]) -> str:
    ages = pack.get("aging") or {}
    ar, ap = ages.get("ar") or {}, ages.get("ap") or {}
    top = _scale(
        decimal_of((ledger.get("buckets") or {}).get(b)) for ledger in (ar, ap) for b in BUCKETS
    )
    charts = (
        '<div class="charts">'
        + aging_chart("Receivables (AR)", ar, top)
        + aging_chart("Payables (AP)", ap, top)
        + "</div>"
    )
    body = (
        f"<p>Open balances as of <strong>{_e(ages.get('as_of'))}</strong>, by days past due.</p>"
        f"{charts}<h3>Receivables by client</h3>{_aging_table(ar, 'Client')}"
        f"<h3>Payables by vendor</h3>{_aging_table(ap, 'Vendor')}"
    )
    return _section(3, "aging", "Aging", body)


def exceptions(pack: dict[str, Any]) -> str:
    ex = pack.get("exceptions") or {}
    by_module = [
        {"module": m, "kind": k, "count": c}
        for m, kinds in (ex.get("findings_by_module") or {}).items()
        for k, c in kinds.items()
    ]
    blocks = [
        (
            "Findings by module",
            _table(
                [("Module", False), ("Kind", False), ("Count", True)],
                by_module,
                lambda r: _txt(r["module"]) + _txt(r["kind"]) + _num(r["count"]),
                cls="narrow",
            ),
        ),
        (
            "Findings",
            _table(
                [
                    ("Module", False),
                    ("Kind", False),
                    ("Key", False),
                    ("Document", False),
                    ("Amount", True),
                    ("Detail", False),
                ],
                ex.get("findings") or [],
                lambda r: (
                    _txt(r.get("module"))
                    + _txt(r.get("kind"))
                    + _txt(r.get("key"), "key")
                    + _txt(r.get("document"), "key")
                    + _num(r.get("amount"))
                    + _txt(r.get("detail"))
                ),
            ),
        ),
        (
            "Waiting for approval",
            _table(
                [
                    ("Posting", False),
                    ("Module", False),
                    ("Key", False),
                    ("Action", False),
                    ("Amount", True),
                    ("Why it waits", False),
                ],
                ex.get("postings_waiting") or [],
                lambda r: (
                    _txt(r.get("id"), "key")
                    + _txt(r.get("module"))
                    + _txt(r.get("key"), "key")
                    + _txt(r.get("action"))
                    + _num(r.get("amount"))
                    + _txt("; ".join(str(x) for x in r.get("reasons") or []))
                ),
            ),
        ),
        (
            "Failed postings",
            _table(
                [
                    ("Posting", False),
                    ("Module", False),
                    ("Key", False),
                    ("Action", False),
                    ("Amount", True),
                    ("Note", False),
                ],
                ex.get("postings_failed") or [],
                lambda r: (
                    _txt(r.get("id"), "key")
                    + _txt(r.get("module"))
                    + _txt(r.get("key"), "key")
                    + _txt(r.get("action"))
                    + _num(r.get("amount"))
                    + _txt(r.get("note"))
                ),
            ),
        ),
        (
            "Invoices marked failed in ServiceTrade",
            _table(
                [("Invoice", False), ("Detail", False)],
                ex.get("writebacks_failed") or [],
                lambda r: _txt(r.get("invoice"), "key") + _txt(r.get("detail")),
            ),
        ),
        (
            "Quarantine",
            _table(
                [("System", False), ("Kind", False), ("Source id", False), ("Reason", False)],
                ex.get("quarantine") or [],
                lambda r: (
                    _txt(r.get("system"))
                    + _txt(r.get("kind"))
                    + _txt(r.get("source_id"), "key")
                    + _txt(r.get("reason"))
                ),
            ),
        ),
        (
            "Unmapped",
            _table(
                [("Module", False), ("Key", False), ("What to map", False)],
                ex.get("unmapped") or [],
                lambda r: (
                    _txt(r.get("module")) + _txt(r.get("key"), "key") + _txt(r.get("problem"))
                ),
            ),
        ),
        (
            "Documents settled by a person",
            _table(
                [
                    ("Module", False),
                    ("Key", False),
                    ("Decision", False),
                    ("By", False),
                    ("Why", False),
                    ("At", False),
                ],
                ex.get("resolutions") or [],
                lambda r: (
                    _txt(r.get("module"))
                    + _txt(r.get("key"), "key")
                    + _txt(r.get("decision"))
                    + _txt(r.get("by"))
                    + _txt(r.get("why"))
                    + _txt(r.get("at"))
                ),
            ),
        ),
    ]
    body = "".join(f"<h3>{_e(title)}</h3>{table}" for title, table in blocks)
    return _section(4, "exceptions", "Exceptions", body)


def _approval(r: dict[str, Any]) -> str:
    if r.get("automatic"):
        return '<td>automatic <span class="small">(policy)</span></td>'
    if r.get("approved_by") is None:
        return '<td class="null">&mdash;</td>'
    return (
        f'<td>{_e(r.get("approved_by"))}<br><span class="small">{_e(r.get("approved_at"))}'
        "</span></td>"
    )


def changes(pack: dict[str, Any]) -> str:
    postings = pack.get("postings") or []
    activity = pack.get("activity") or []
    chart = (
        "<figure><figcaption>Postings confirmed in Sage per day</figcaption>"
        f"{activity_chart(str(pack.get('period')), activity)}</figure>"
    )
    per_day = _table(
        [("Date", False), ("Postings", True), ("Amount", True)],
        activity,
        lambda r: _txt(r.get("date")) + _num(r.get("postings")) + _num(r.get("amount")),
        cls="narrow",
    )
    trail = _table(
        [
            ("Confirmed at", False),
            ("Document", False),
            ("Module", False),
            ("Key", False),
            ("Action", False),
            ("Amount", True),
            ("Reason", False),
            ("Approved by, at", False),
            ("Why", False),
            ("Posting", False),
        ],
        postings,
        lambda r: (
            _txt(r.get("confirmed_at"), "ts")
            + _txt(r.get("document"), "key")
            + _txt(r.get("module"))
            + _txt(r.get("key"), "key")
            + _txt(r.get("action"))
            + _num(r.get("amount"))
            + _txt(r.get("reason"))
            + _approval(r)
            + _txt(r.get("approved_why"))
            + _txt(r.get("id"), "key")
        ),
        cls="wide",
    )
    body = (
        f"<p>{len(postings)} {'posting' if len(postings) == 1 else 'postings'} recon made in "
        "Sage for this period, each with who approved it and why.</p>"
        f"{chart}{per_day}<h3>Audit trail</h3>{trail}"
    )
    return _section(5, "changes", "What recon changed in Sage this period", body)


def provenance(pack: dict[str, Any]) -> str:
    prov = pack.get("provenance") or {}
    rows = [{"field": k, "value": v} for k, v in prov.items()]
    table = _table(
        [("Source", False), ("Value", False)],
        rows,
        lambda r: _txt(str(r["field"]).replace("_", " ")) + _txt(r["value"], "key"),
    )
    body = (
        f'{table}<p class="small">Generated {_e(pack.get("generated_at"))}. Every figure in '
        f"this document is the figure in close-{_e(pack.get('period'))}.json.</p>"
    )
    return _section(6, "provenance", "Provenance", body)


def render_html(pack: dict[str, Any]) -> str:
    """The whole document."""
    period = _e(pack.get("period"))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Month-end close {period}</title><style>{CSS}</style></head><body>"
        f'<header class="doc"><h1>Month-end close {period}</h1><div class="meta">'
        "Sage 100 Contractor &middot; ServiceTrade &middot; PartsLedger<br>"
        f"generated {_e(pack.get('generated_at'))}</div></header>"
        + close_status(pack)
        + tieouts(pack)
        + aging(pack)
        + exceptions(pack)
        + changes(pack)
        + provenance(pack)
        + '<footer class="doc">Prepared by recon. Reviewed by: '
        "______________________ &nbsp; Date: ____________</footer></body></html>\n"
    )
