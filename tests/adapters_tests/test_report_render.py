"""The close pack written out: every file private, the JSON the pack itself, the workbook and
the CSVs the pack's figures to the cent, and the HTML a safe, self-contained document that a
real browser renders with the figures on it."""

from __future__ import annotations

import csv
import json
import os
import re
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from adapters.report.write import PackError, write_pack
from tests.adapters_tests.report_sample import FORMULA, HOSTILE, sample_pack

CHROMIUM = Path("/usr/bin/chromium")
CENT = Decimal("0.01")
BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
TABLES = (
    "status",
    "blocking",
    "tieouts",
    "tieout_parts",
    "tieout_items",
    "aging_ar",
    "aging_ap",
    "findings",
    "findings_by_module",
    "resolutions",
    "quarantine",
    "unmapped",
    "postings_waiting",
    "postings_failed",
    "writebacks_failed",
    "postings",
    "activity",
    "provenance",
)
SHEETS = [
    "Close status",
    "Blocking",
    "Tie-outs",
    "Tie-out parts",
    "Tie-out items",
    "Aging AR",
    "Aging AP",
    "Findings",
    "Findings by module",
    "Resolutions",
    "Quarantine",
    "Unmapped",
    "Waiting for approval",
    "Failed postings",
    "Failed writebacks",
    "Postings",
    "Activity",
    "Provenance",
]
MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"


@pytest.fixture
def written(tmp_path: Path) -> tuple[dict[str, Any], Path, list[Path]]:
    pack = sample_pack()
    out = tmp_path / "pack"
    return pack, out, write_pack(pack, out)


def cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT)


# Files --------------------------------------------------------------------------------------


def test_every_file_is_written_private_in_a_private_directory(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    _, out, paths = written
    expected = [out / "close-2026-10.html", out / "close-2026-10.xlsx", out / "close-2026-10.json"]
    expected += [out / f"close-2026-10-{name}.csv" for name in TABLES]
    assert paths == expected
    assert sorted(out.iterdir()) == sorted(expected)  # nothing half-written left behind
    assert out.stat().st_mode & 0o777 == 0o700
    for path in paths:
        assert path.stat().st_mode & 0o777 == 0o600, path
        assert path.stat().st_size > 0


def test_a_file_already_there_is_replaced_and_made_private(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    stale = out / "close-2026-10.json"
    stale.write_text("{}")
    stale.chmod(0o644)
    write_pack(sample_pack(), out)
    assert stale.stat().st_mode & 0o777 == 0o600
    assert json.loads(stale.read_text())["period"] == "2026-10"
    assert out.stat().st_mode & 0o777 == 0o755  # a directory that was there keeps its mode


def test_a_pack_without_a_period_is_refused(tmp_path: Path) -> None:
    pack = sample_pack()
    pack["period"] = "../2026-10"
    with pytest.raises(PackError, match="YYYY-MM"):
        write_pack(pack, tmp_path / "pack")
    assert not (tmp_path / "pack").exists()


def test_the_json_file_is_the_pack(written: tuple[dict[str, Any], Path, list[Path]]) -> None:
    pack, out, _ = written
    text = (out / "close-2026-10.json").read_text(encoding="utf-8")
    assert json.loads(text) == pack
    assert text == json.dumps(pack, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert '"left": "48210.75"' in text  # figures stay strings


# Workbook -----------------------------------------------------------------------------------


def sheet_rows(ws: Any) -> list[dict[str, Any]]:
    """The rows under the header, by header, down to the last row of the auto filter."""
    headers = [c.value for c in ws[1]]
    last = int(re.sub(r"^A1:[A-Z]+", "", ws.auto_filter.ref))
    return [
        dict(zip(headers, (c.value for c in row), strict=True))
        for row in ws.iter_rows(min_row=2, max_row=last)
    ]


def test_the_workbook_has_a_sheet_per_table_frozen_and_filtered(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    _, out, _ = written
    wb = load_workbook(out / "close-2026-10.xlsx")
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert re.fullmatch(r"A1:[A-Z]+\d+", ws.auto_filter.ref), ws.title
        assert all(c.font.bold for c in ws[1] if c.value), ws.title
        assert ws.column_dimensions["A"].width >= 8
    empty = wb["Failed postings"]
    assert empty["A2"].value == "none" and empty.auto_filter.ref == "A1:F1"


def test_the_workbook_figures_are_the_packs_to_the_cent(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    pack, out, _ = written
    wb = load_workbook(out / "close-2026-10.xlsx")

    ties = sheet_rows(wb["Tie-outs"])
    assert [r["Tie-out"] for r in ties] == [t["name"] for t in pack["tieouts"]]
    for row, tie in zip(ties, pack["tieouts"], strict=True):
        for header, key in (("Left figure", "left"), ("Right figure", "right")):
            assert cents(row[header]) == Decimal(tie[key])
        assert cents(row["Difference"]) == Decimal(tie["difference"])
        assert row["Ties"] is tie["ties"]
    formats = {r["Tie-out"]: r for r in ties}
    ws = wb["Tie-outs"]
    assert ws["D2"].number_format == MONEY_FORMAT  # ar_billed, money
    assert ws["D6"].number_format == "0.00"  # payroll_hours, hours
    assert ws["G2"].value < 0 and formats["ar_billed"]["Difference"] == -118.4

    items = sheet_rows(wb["Tie-out items"])
    expected_items = [i for t in pack["tieouts"] for i in t["items"]]
    assert len(items) == len(expected_items) == 2
    for row, item in zip(items, expected_items, strict=True):
        assert (row["Key"], row["Document"], row["Detail"]) == (
            item["key"],
            item["document"],
            item["detail"],
        )
        for header in ("Left", "Right", "Difference"):
            assert cents(row[header]) == Decimal(item[header.lower()])

    for title, side in (("Aging AR", "ar"), ("Aging AP", "ap")):
        ledger = pack["aging"][side]
        rows = sheet_rows(wb[title])
        assert len(rows) == len(ledger["rows"])
        for row, expected in zip(rows, ledger["rows"], strict=True):
            values = list(row.values())
            assert (values[0], values[1]) == (expected["number"], expected["name"])
            assert [cents(v) for v in values[2:7]] == [
                Decimal(expected["buckets"][b]) for b in BUCKETS
            ]
            assert cents(values[7]) == Decimal(expected["total"])
        ws = wb[title]
        total = [c.value for c in ws[len(rows) + 2]]
        assert total[1] == "Total"
        assert [cents(v) for v in total[2:7]] == [Decimal(ledger["buckets"][b]) for b in BUCKETS]
        assert cents(total[7]) == Decimal(ledger["total"])
        assert ws.cell(row=2, column=8).number_format == MONEY_FORMAT

    postings = sheet_rows(wb["Postings"])
    assert [(r["Document"], cents(r["Amount"]), r["Approved by"]) for r in postings] == [
        (p["document"], cents(p["amount"]), p["approved_by"]) for p in pack["postings"]
    ]
    findings = sheet_rows(wb["Findings"])
    assert [cents(r["Amount"]) for r in findings] == [
        cents(f["amount"]) for f in pack["exceptions"]["findings"]
    ]
    activity = sheet_rows(wb["Activity"])
    assert [(r["Date"], r["Postings"], cents(r["Amount"])) for r in activity] == [
        (a["date"], a["postings"], Decimal(a["amount"])) for a in pack["activity"]
    ]
    assert wb["Aging AR"]["B3"].value == HOSTILE


def test_a_payload_that_looks_like_a_formula_stays_text_in_the_workbook(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    _, out, _ = written
    ws = load_workbook(out / "close-2026-10.xlsx")["Quarantine"]
    cell = ws["D3"]
    assert cell.value == FORMULA
    assert cell.data_type == "s"


def test_control_characters_in_a_payload_do_not_break_the_workbook(tmp_path: Path) -> None:
    pack = sample_pack()
    pack["exceptions"]["quarantine"][0]["reason"] = "bad\x00byte\x1b"
    write_pack(pack, tmp_path / "pack")
    ws = load_workbook(tmp_path / "pack" / "close-2026-10.xlsx")["Quarantine"]
    assert ws["D2"].value == "bad\\x00byte\\x1b"


# CSV ----------------------------------------------------------------------------------------


def read_csv(out: Path, name: str) -> list[dict[str, str]]:
    with (out / f"close-2026-10-{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_the_csvs_hold_the_pack_rows(written: tuple[dict[str, Any], Path, list[Path]]) -> None:
    pack, out, _ = written
    assert read_csv(out, "tieouts") == [
        {k: as_csv(v) for k, v in t.items() if k not in ("parts", "items")} for t in pack["tieouts"]
    ]
    assert read_csv(out, "tieout_items") == [
        {"tieout": t["name"], **{k: as_csv(v) for k, v in i.items()}, "unit": t["unit"]}
        for t in pack["tieouts"]
        for i in t["items"]
    ]
    assert read_csv(out, "tieout_parts")[0] == {
        "tieout": "ar_billed",
        "name": "count",
        "left": "64",
        "right": "63",
        "difference": "-1",
        "ties": "false",
        "unit": "money",
    }
    for side in ("ar", "ap"):
        assert read_csv(out, f"aging_{side}") == [
            {
                "number": r["number"],
                "name": r["name"],
                **r["buckets"],
                "total": r["total"],
            }
            for r in pack["aging"][side]["rows"]
        ]
    assert read_csv(out, "postings") == [
        {k: as_csv(v) for k, v in p.items()} for p in pack["postings"]
    ]
    assert read_csv(out, "findings") == [
        {k: as_csv(v) for k, v in f.items()} for f in pack["exceptions"]["findings"]
    ]
    assert read_csv(out, "blocking") == [
        {k: as_csv(v) for k, v in b.items()} for b in pack["blocking"]
    ]
    assert read_csv(out, "postings_waiting")[0]["reasons"] == (
        "the invoice is in a locked period; over the automatic limit"
    )
    assert read_csv(out, "postings_failed") == []
    assert {r["field"]: r["value"] for r in read_csv(out, "provenance")} == {
        k: as_csv(v) for k, v in pack["provenance"].items()
    }
    quarantine = read_csv(out, "quarantine")
    assert quarantine[1]["reason"] == "'" + FORMULA  # a spreadsheet will not run it
    assert quarantine[0]["reason"] == pack["exceptions"]["quarantine"][0]["reason"]


# HTML ---------------------------------------------------------------------------------------


def test_the_html_is_self_contained_and_escapes_every_payload(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    _, out, _ = written
    html = (out / "close-2026-10.html").read_text(encoding="utf-8")
    lowered = html.lower()
    for outside in ("http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link"):
        assert outside not in lowered, outside
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;" in html


def test_the_html_shows_every_figure_as_in_the_pack(
    written: tuple[dict[str, Any], Path, list[Path]],
) -> None:
    pack, out, _ = written
    html = (out / "close-2026-10.html").read_text(encoding="utf-8")
    order = [
        html.index(f'<section id="{s}">')
        for s in ("status", "tieouts", "aging", "exceptions", "changes", "provenance")
    ]
    assert order == sorted(order)
    assert "NOT READY TO CLOSE" in html and "4 items block close" in html
    figures = [pack["aging"]["ar"]["total"], pack["aging"]["ap"]["total"]]
    for tie in pack["tieouts"]:
        figures += [tie["left"], tie["right"]]
    for side in ("ar", "ap"):
        for row in pack["aging"][side]["rows"]:
            figures += [row["total"], *row["buckets"].values()]
    figures += [p["amount"] for p in pack["postings"] if p["amount"] is not None]
    for figure in figures:
        assert re.search(rf'<td class="num(?: neg)?">{re.escape(figure)}(<|$)', html), figure
    assert '<td class="num neg">-118.40</td>' in html  # negative differences are marked
    assert '<td class="num">0.00<span class="unit">h</span></td>' in html
    failed = html.index("<h3>Failed postings</h3>")
    assert html[failed:].startswith('<h3>Failed postings</h3><p class="none">none</p>')
    assert "customer disputed the trip charge; credit agreed" in html
    assert "3-2 invoice 10359 (void), 10359R" in html


def test_a_ready_pack_says_so(tmp_path: Path) -> None:
    pack = sample_pack()
    pack.update(ready=True, blocking=[])
    pack["close_status"]["blocking_count"] = 0
    write_pack(pack, tmp_path / "pack")
    html = (tmp_path / "pack" / "close-2026-10.html").read_text(encoding="utf-8")
    assert "READY TO CLOSE" in html and "NOT READY" not in html
    assert '<h3>What blocks close</h3><p class="none">none</p>' in html


# A real browser -----------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(html: Path, profile: Path, *args: str) -> str:
    """Run headless Chromium on ``html``; its stdout."""
    done = subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def screenshot(html: Path, png: Path, profile: Path) -> None:
    """The screenshot the docs show: 1280 px wide, the first 2400 px of the document."""
    chromium(html, profile, f"--screenshot={png}", "--window-size=1280,2400")


def png_pixels(data: bytes, rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first ``rows`` rows of an 8-bit RGB or RGBA PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompressobj().decompress(idat, (stride + 1) * rows)
    previous, out = bytearray(stride), []
    for y in range(rows):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out.append(bytes(line))
        previous = line
    if bpp == 4:  # drop alpha: RGB triples only
        out = [bytes(b for i in range(0, len(r), 4) for b in r[i : i + 3]) for r in out]
    return width, height, out


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)",
)
def test_chromium_renders_the_pack_with_its_figures(
    written: tuple[dict[str, Any], Path, list[Path]], tmp_path: Path
) -> None:
    pack, out, _ = written
    html = out / "close-2026-10.html"
    png = tmp_path / "pack.png"
    screenshot(html, png, tmp_path / "profile")
    dom = chromium(html, tmp_path / "profile", "--dump-dom")

    for figure in (
        pack["aging"]["ar"]["total"],
        pack["tieouts"][0]["difference"],
        pack["postings"][2]["document"],
        pack["exceptions"]["findings"][0]["amount"],
    ):
        assert figure in dom, figure
    assert "NOT READY TO CLOSE" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom.lower()
    assert dom.count("<svg") == 4  # tie-out strip, AR and AP aging, daily activity

    data = png.read_bytes()
    width, height, rows = png_pixels(data, 420)
    assert (width, height) == (1280, 2400)
    assert len(data) > 100_000  # a blank page of this size compresses to a few kilobytes
    colours = {row[i : i + 3] for row in rows for i in range(0, len(row), 3)}
    assert len(colours) > 50  # text, rules, the banner: not a blank page
    # The "not ready" banner is drawn in its red (within rounding of colour management).
    assert any(
        abs(c[0] - 0xA8) <= 6 and abs(c[1] - 0x32) <= 6 and abs(c[2] - 0x2A) <= 6 for c in colours
    )
