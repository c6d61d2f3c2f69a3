"""How recon writes a moment in its own state and in reports: UTC, to the second, ISO 8601
with a Z (``2026-12-02T09:00:00Z``), and how it reads one back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def utc_text(wall: float) -> str:
    """A Unix time as recon writes it."""
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def unix_of(text: Any) -> float | None:
    """The Unix time ``utc_text`` wrote; None for anything else empty or missing."""
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
