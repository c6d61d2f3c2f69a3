"""The month-end close pack written out: one HTML document, a workbook, the JSON and CSVs."""

from __future__ import annotations

from adapters.report.write import write_pack

__all__ = ["write_pack"]
