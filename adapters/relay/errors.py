"""What the relay raises: a small hierarchy, each error chained to the library error behind it."""

from __future__ import annotations


class RelayError(Exception):
    """Something the relay or its client could not do; the message says what and why."""


class RelayConfigError(RelayError, ValueError):
    """A relay setting recon cannot use; the message names the setting and the form expected."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        #: The keyword of run_relay/serve the error is about (``store_url``, ``certfile``, ...).
        self.setting = setting
        self.detail = detail


class RelayStoreError(RelayError):
    """The relay's store could not be opened, read or written."""


class RelayBindError(RelayError):
    """A listener could not bind its address."""
