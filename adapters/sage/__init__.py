"""Sage 100 Contractor: the only code that touches Sage's database (reader, sink, sandbox)."""

from adapters.sage.engine import check_schema, create_sage_engine, odbc_connection_string
from adapters.sage.errors import (
    SageConfigError,
    SageDataError,
    SageError,
    SageLogonRejectedError,
    SageRecordNotFoundError,
    SageSchemaError,
    SageUnavailableError,
    SageWriteError,
    SandboxExistsError,
)
from adapters.sage.files_sink import FilesPostingSink, import_batches, pending_batches, read_batch
from adapters.sage.reader import SageReader, read_tax_districts
from adapters.sage.sandbox import init_sandbox
from adapters.sage.sql_sink import FAULT_STEPS, SqlPostingSink

__all__ = [
    "FAULT_STEPS",
    "FilesPostingSink",
    "SageConfigError",
    "SageDataError",
    "SageError",
    "SageLogonRejectedError",
    "SageReader",
    "SageRecordNotFoundError",
    "SageSchemaError",
    "SageUnavailableError",
    "SageWriteError",
    "SandboxExistsError",
    "SqlPostingSink",
    "check_schema",
    "create_sage_engine",
    "import_batches",
    "init_sandbox",
    "odbc_connection_string",
    "pending_batches",
    "read_batch",
    "read_tax_districts",
]
