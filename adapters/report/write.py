"""Write the close pack to a directory: HTML, workbook, JSON and one CSV per table."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from adapters.report.csvfiles import render_csv
from adapters.report.htmlpage import render_html
from adapters.report.tables import tables
from adapters.report.xlsx import render_xlsx

PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
FILE_MODE = 0o600
DIR_MODE = 0o700


class PackError(ValueError):
    """A pack that cannot be written: its period is not YYYY-MM."""


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only, replacing it whole (a reader
    never sees half a file)."""
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def pack_json(pack: dict[str, Any]) -> str:
    """The pack as JSON: sorted keys, two-space indent, figures as the strings they are."""
    return json.dumps(pack, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_pack(pack: dict[str, Any], out: Path) -> list[Path]:
    """Write ``out/close-YYYY-MM.html``, ``.xlsx``, ``.json`` and ``close-YYYY-MM-<table>.csv``
    for every table of ``pack``; files are mode 0600, ``out`` is made 0700 if new.

    Returns the paths written, in that order."""
    period = str(pack.get("period"))
    if not PERIOD.fullmatch(period):
        raise PackError(f"expected the pack's period as YYYY-MM, got {period!r}")
    if not out.exists():
        out.mkdir(parents=True, mode=DIR_MODE)
        out.chmod(DIR_MODE)  # mkdir's mode is cut by the umask
    stem = f"close-{period}"
    outputs: list[tuple[Path, bytes]] = [
        (out / f"{stem}.html", render_html(pack).encode("utf-8")),
        (out / f"{stem}.xlsx", render_xlsx(pack)),
        (out / f"{stem}.json", pack_json(pack).encode("utf-8")),
    ]
    outputs += [
        (out / f"{stem}-{table.name}.csv", render_csv(table).encode("utf-8"))
        for table in tables(pack)
    ]
    for path, data in outputs:
        _write(path, data)
    return [path for path, _ in outputs]
