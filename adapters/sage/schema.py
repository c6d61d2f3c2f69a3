"""Sage 100 Contractor's own tables, as SQLAlchemy Core metadata (reads SQL Server and sandbox).

Names and types follow docs/reference/sage100c-schema.md (§0 conventions, §2 tables). The tables
carry no schema name, so on SQL Server they resolve to the login's default schema ``dbo`` where
Sage keeps its business tables; on SQLite they are the sandbox's tables. Where the reference gives
no type, the choice is ours and written down in docs/sage.md. Indexes other than the ``recnum``
ones exist only so the sandbox reads fast; recon never creates tables on SQL Server.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Unicode,
    UnicodeText,
    Uuid,
    cast,
    or_,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData()

# Column types (reference §0 "Data types").
CODE = SmallInteger().with_variant(mssql.TINYINT(), "mssql")  # status/type/period codes, flags
YEAR = SmallInteger()  # posting year
RECNUM = BigInteger()  # record numbers and references to them
MONEY = Numeric(12, 2)  # amounts on documents
GL_MONEY = Numeric(14, 2)  # GL lines and balances
QTY = Numeric(7, 2)  # hours and quantities
PRICE = Numeric(14, 4)  # unit prices and AR tax-detail rates: our choice (reference silent)
TAX_RATE = Numeric(8, 4)  # taxent.taxrt1, percent (reference: ~(8,4))
PERCENT = Numeric(7, 4)  # actrec.retain retention rate: our choice (reference: "decimal")
COST_CODE = Numeric(15, 3)
PAY_RATE = Numeric(10, 4)  # pay and piece rates (reference §0)
NUMBER = Unicode(20)  # invoice, transaction, PO and reference numbers
DESCRIPTION = Unicode(50)
USER_DEFINED = Unicode(50)
NAME = Unicode(50)
LONG_NAME = Unicode(75)
SHORT_NAME = Unicode(30)
STATE = Unicode(2)
ZIP = Unicode(10)
PHONE = Unicode(20)
EMAIL = Unicode(75)
SQL_USER = Unicode(128)


def _key() -> list[Column[Any]]:
    return [Column("_idnum", Uuid(), primary_key=True), Column("recnum", RECNUM, nullable=False)]


def _child_key() -> list[Column[Any]]:
    return [
        Column("_idnum", Uuid(), primary_key=True),
        Column("_idref", Uuid()),  # -> parent _idnum
        Column("recnum", RECNUM, nullable=False),  # = parent recnum, not unique here
    ]


def _audit() -> list[Column[Any]]:
    """Entry and SQL audit stamps; on SQL Server ``insdte``/``insusr`` default, triggers update."""
    return [
        Column("entdte", Date()),
        Column("usrnme", SQL_USER),
        Column("insdte", DateTime()),
        Column("insusr", SQL_USER),
        Column("upddte", DateTime()),
        Column("updusr", SQL_USER),
    ]


def _address() -> list[Column[Any]]:
    return [
        Column("addrs1", NAME),
        Column("addrs2", NAME),
        Column("ctynme", NAME),
        Column("state_", STATE),
        Column("zipcde", ZIP),
    ]


def _master(name: str, *columns: Column[Any]) -> Table:
    table = Table(name, metadata, *_key(), *columns, *_audit())
    Index(f"ix_{name}_recnum", table.c.recnum, unique=True)
    return table


def _child(name: str, *columns: Column[Any]) -> Table:
    table = Table(name, metadata, *_child_key(), *columns, *_audit())
    Index(f"ix_{name}_recnum", table.c.recnum)
    return table


# 3-6 Receivable Clients (§2.1); recnum = client #, user-assigned.
reccln = _master(
    "reccln",
    Column("clnnme", LONG_NAME),
    Column("shtnme", SHORT_NAME),
    *_address(),
    Column("bilad1", NAME),
    Column("bilad2", NAME),
    Column("bilcty", NAME),
    Column("bilste", STATE),
    Column("bilzip", ZIP),
    Column("contct", NAME),
    Column("phnnum", PHONE),
    Column("e_mail", EMAIL),
    Column("email2", EMAIL),
    Column("email3", EMAIL),
    Column("taxdst", Integer()),
    Column("clntyp", Integer()),
    Column("status", CODE),
    Column("begbal", MONEY),
    Column("endbal", MONEY),
    Column("exmnum", SHORT_NAME),
    Column("usrdf1", USER_DEFINED),
    Column("usrdf2", USER_DEFINED),
    Column("usrdf3", USER_DEFINED),
    Column("usrdf4", USER_DEFINED),
    Column("usrdf5", USER_DEFINED),
    Column("inactv", CODE),
)

# 3-5 Jobs (§2.2); recnum = job #, user-assigned.
actrec = _master(
    "actrec",
    Column("jobnme", LONG_NAME),
    Column("shtnme", SHORT_NAME),
    Column("clnnum", RECNUM),
    Column("status", CODE),
    Column("jobtyp", Integer()),
    Column("slstax", Integer()),  # sales-tax DISTRICT id (not an amount, unlike acrinv.slstax)
    Column("lcltax", Integer()),
    Column("lgract", RECNUM),
    Column("dptmnt", Integer()),
    Column("cntrct", MONEY),
    Column("retain", PERCENT),
    Column("pstwip", CODE),
    Column("crtfid", CODE),
    Column("begbal", MONEY),
    Column("endbal", MONEY),
    Column("sprvsr", RECNUM),
    Column("slsemp", RECNUM),
    Column("estemp", RECNUM),
    *_address(),
    Column("county", NAME),
    Column("sttdte", Date()),
    Column("cmpdte", Date()),
    Column("ctcdte", Date()),
    Column("inactv", CODE),
)

# Job phases (§2.2 child): recnum = job, phsnum.
jobphs = _child(
    "jobphs",
    Column("phsnum", Integer()),
    Column("phsnme", NAME),
    Column("status", CODE),
    Column("cntrct", MONEY),
    Column("inactv", CODE),
)

# 3-2 Receivable invoice/credit header (§2.4); recnum generated (identity-like).
acrinv = _master(
    "acrinv",
    Column("invnum", NUMBER),
    Column("invdte", Date()),
    Column("duedte", Date()),
    Column("dscdte", Date()),
    Column("jobnum", RECNUM),
    Column("phsnum", Integer()),
    Column("dscrpt", DESCRIPTION),
    Column("invtyp", CODE),
    Column("status", CODE),
    Column("taxdst", Integer()),
    Column("subttl", MONEY),
    Column("taxabl", MONEY),
    Column("nontax", MONEY),
    Column("slstax", MONEY),  # sales-tax AMOUNT
    Column("retain", MONEY),
    Column("invamt", MONEY),
    Column("invttl", MONEY),
    Column("amtpad", MONEY),
    Column("ttlpad", MONEY),
    Column("dsctkn", MONEY),
    Column("dscavl", MONEY),
    Column("invbal", MONEY),
    Column("invnet", MONEY),
    Column("actper", CODE),
    Column("postyr", YEAR),
    Column("lgrrec", RECNUM),  # = lgrtrn.recnum of its GL transaction (our choice, docs/sage.md)
    Column("pchord", NUMBER),
    Column("refnum", NUMBER),
    Column("usrdf1", USER_DEFINED),  # recon's link key "ST-INV-..."
    Column("usrdf2", USER_DEFINED),
    Column("vodrec", RECNUM),  # recnum of the record this one replaced
)
Index("ix_acrinv_period", acrinv.c.postyr, acrinv.c.actper)
Index("ix_acrinv_usrdf1", acrinv.c.usrdf1)

# 3-2 grid lines (§2.5): recnum = acrinv.recnum, linnum.
arivln = _child(
    "arivln",
    Column("linnum", Integer()),
    Column("dscrpt", DESCRIPTION),
    Column("linqty", QTY),
    Column("linprc", PRICE),
    Column("extprc", MONEY),
    Column("lgract", RECNUM),
    Column("subact", Integer()),
    Column("cstcde", COST_CODE),
    Column("prtnum", Integer()),
    Column("alpnum", SHORT_NAME),
    Column("untdsc", Unicode(8)),
    Column("usrdf1", USER_DEFINED),
    Column("hldamt", MONEY),
    Column("bllamt", MONEY),
)

# AR tax detail (§2.7): one row per invoice per tax entity.
artxdt = _child(
    "artxdt",
    Column("taxent", Integer()),
    Column("sbjtax", MONEY),
    Column("taxrte", PRICE),
    Column("taxamt", MONEY),
)

# GL transaction header (§2.11); recnum generated.
lgrtrn = _master(
    "lgrtrn",
    Column("trnnum", NUMBER),
    Column("trndte", Date()),
    Column("dscrpt", DESCRIPTION),
    Column("status", CODE),
    Column("srcnum", CODE),
    Column("actprd", CODE),
    Column("postyr", YEAR),
    Column("vndnum", RECNUM),
    Column("empnum", RECNUM),
    Column("payee1", NAME),
    Column("payee2", NAME),
    Column("chkamt", MONEY),
    Column("pchord", NUMBER),
    Column("lgrrec", RECNUM),
    Column("jobvar", GL_MONEY),
    Column("eqpvar", GL_MONEY),
    Column("wipvar", GL_MONEY),
    Column("usrdf1", USER_DEFINED),
    Column("usrdf2", USER_DEFINED),
)
Index("ix_lgrtrn_usrdf1", lgrtrn.c.usrdf1)

# GL transaction lines (§2.12): recnum = lgrtrn.recnum, linnum.
lgtnln = _child(
    "lgtnln",
    Column("linnum", Integer()),
    Column("lgract", RECNUM),
    Column("subact", Integer()),
    Column("dscrpt", DESCRIPTION),
    Column("dbtamt", GL_MONEY),
    Column("crdamt", GL_MONEY),
    Column("usrdf1", USER_DEFINED),
)

# 1-7 Ledger accounts (§2.13); recnum = account #.
lgract = _master(
    "lgract",
    Column("shtnme", SHORT_NAME),
    Column("lngnme", NAME),
    Column("acttyp", CODE),
    Column("subact", CODE),
    Column("sumact", RECNUM),
    Column("csttyp", CODE),
    Column("dbtcrd", CODE),
    Column("jobsub", CODE),
    Column("iscrcd", CODE),
    Column("begbal", GL_MONEY),
    Column("endbal", GL_MONEY),
    Column("strbal", GL_MONEY),
    Column("inactv", CODE),
)

# Sales-tax districts (§2.16): up to five entities each.
taxdst = _master(
    "taxdst",
    Column("dstnme", NAME),
    Column("entty1", Integer()),
    Column("entty2", Integer()),
    Column("entty3", Integer()),
    Column("entty4", Integer()),
    Column("entty5", Integer()),
    Column("inactv", CODE),
)
DISTRICT_ENTITY_COLUMNS = ("entty1", "entty2", "entty3", "entty4", "entty5")

# Sales-tax entities (§2.16). ``lgract`` (liability account) is OUR column: the reference does
# not say where Sage keeps an entity's account (docs/sage.md).
taxent = _master(
    "taxent",
    Column("entnme", NAME),
    Column("paynme", NAME),
    *_address(),
    Column("taxrt1", TAX_RATE),
    Column("limit1", MONEY),
    Column("lmtyp1", CODE),
    Column("lgract", RECNUM),
)

# Transaction sources (§2.15, §3.6).
source = _master("source", Column("srcnme", NAME), Column("srcdsc", NAME))

# Cost types 1-9 (§2.15, §3.5).
csttyp = _master("csttyp", Column("typnme", SHORT_NAME))

# 7-1 Company information (§1). Only usrdf1 is confirmed by Sage; the rest is our sandbox shape.
cmpany = _master(
    "cmpany",
    Column("cmpnme", LONG_NAME),
    *_address(),
    Column("phnnum", PHONE),
    Column("usrdf1", USER_DEFINED),
)

# 4-4 Vendors (§2.3); recnum = vendor #, user-assigned (stored as ``vndnum`` elsewhere).
actpay = _master(
    "actpay",
    Column("vndnme", LONG_NAME),
    Column("shtnme", SHORT_NAME),
    *_address(),
    Column("phnnum", PHONE),
    Column("e_mail", EMAIL),
    Column("fedidn", NUMBER),
    Column("lgrdft", RECNUM),  # default ledger account for its invoices
    Column("cdedft", COST_CODE),  # default cost code / type for job-cost distribution
    Column("typdft", CODE),
    Column("stsdft", CODE),  # default invoice status (1 Open, 2 Review)
    Column("dupchk", CODE),
    Column("vndtyp", Integer()),
    Column("taxdst", Integer()),
    Column("utxrte", TAX_RATE),  # use-tax rate: type our choice (reference: "decimal")
    Column("prt199", CODE),  # 1099 type
    Column("begbal", MONEY),
    Column("endbal", MONEY),
    Column("hotlst", CODE),
    Column("inactv", CODE),
)

# 4-2 Payable invoice/credit header (§2.8); recnum generated (identity-like).
acpinv = _master(
    "acpinv",
    Column("invnum", NUMBER),
    Column("vndnum", RECNUM),
    Column("jobnum", RECNUM),
    Column("phsnum", Integer()),
    Column("pchord", NUMBER),
    Column("ctcnum", NUMBER),
    Column("dscrpt", DESCRIPTION),
    Column("invdte", Date()),
    Column("duedte", Date()),
    Column("dscdte", Date()),
    Column("invtyp", CODE),
    Column("status", CODE),
    Column("invttl", MONEY),
    Column("slstax", MONEY),
    Column("usetax", Numeric(8, 2)),  # use-tax RATE (reference: decimal(8,2))
    Column("usettl", MONEY),
    Column("usedst", Integer()),
    Column("retain", MONEY),
    Column("freigh", Numeric(9, 2)),
    Column("adjust", Numeric(9, 2)),
    Column("amtpad", MONEY),
    Column("ttlpad", MONEY),
    Column("dsctkn", MONEY),
    Column("dscavl", MONEY),
    Column("setpay", MONEY),
    Column("invbal", MONEY),
    Column("invnet", MONEY),
    Column("actper", CODE),
    Column("postyr", YEAR),
    Column("lgrrec", RECNUM),  # = lgrtrn.recnum of its GL transaction (as on acrinv)
    Column("btcnum", Integer()),
    Column("refnum", NUMBER),
    Column("shpnum", NUMBER),
    Column("payee2", NAME),
    Column("usrdf1", USER_DEFINED),  # recon's link key "PL-BILL-..."
    Column("usrdf2", USER_DEFINED),
    Column("hotlst", CODE),
    Column("vodrec", Unicode(300)),  # text here, unlike acrinv.vodrec (reference §2.8)
)
Index("ix_acpinv_period", acpinv.c.postyr, acpinv.c.actper)
Index("ix_acpinv_usrdf1", acpinv.c.usrdf1)

# 4-2 grid lines (§2.9): recnum = acpinv.recnum, linnum. A GL distribution (job cost is jobcst).
apivln = _child(
    "apivln",
    Column("linnum", Integer()),
    Column("prtdsc", DESCRIPTION),
    Column("linqty", QTY),
    Column("linprc", PRICE),
    Column("extttl", MONEY),
    Column("actnum", RECNUM),  # ledger account (AP says actnum, not lgract)
    Column("subact", Integer()),
    Column("prtnum", Integer()),
    Column("alpnum", SHORT_NAME),
    Column("untdsc", Unicode(8)),
    Column("invloc", Integer()),
    Column("sernum", SHORT_NAME),
    Column("linref", NUMBER),
    Column("hldamt", MONEY),
    Column("invamt", MONEY),
)

# 6-3 Job cost records (§2.14); recnum generated (identity-like). One row per cost.
jobcst = _master(
    "jobcst",
    Column("jobnum", RECNUM),
    Column("phsnum", Integer()),
    Column("wrkord", NUMBER),
    Column("trnnum", NUMBER),
    Column("dscrpt", DESCRIPTION),
    Column("trndte", Date()),
    Column("actprd", CODE),
    Column("postyr", YEAR),
    Column("srcnum", CODE),
    Column("status", CODE),  # 1 Open, 2 Void
    Column("bllsts", CODE),
    Column("cstcde", COST_CODE),
    Column("csttyp", CODE),
    Column("vndnum", RECNUM),
    Column("empnum", RECNUM),
    Column("eqpnum", RECNUM),
    Column("payrec", RECNUM),
    Column("paytyp", CODE),  # PAY type 1-9 (not payrec's record type)
    Column("csthrs", QTY),
    Column("cstamt", MONEY),
    Column("blgqty", QTY),
    Column("blgamt", MONEY),
    Column("blgttl", MONEY),
    Column("ovhamt", MONEY),
    Column("pftamt", MONEY),
    Column("shwamt", MONEY),
    Column("grswge", MONEY),
    Column("acrinv", RECNUM),  # AR invoice recnum that billed it (a column, not the table)
    Column("taxabl", CODE),
    Column("lgrrec", RECNUM),
)
Index("ix_jobcst_period", jobcst.c.postyr, jobcst.c.actprd)
Index("ix_jobcst_source_job", jobcst.c.srcnum, jobcst.c.jobnum)

# 5-5-1 Daily payroll entry (§2.20): one row per employee-day line, keyed by paydte + linnum.
# No recnum (reference unknown #8): the row's own _idnum is its reference.
dlypyr = Table(
    "dlypyr",
    metadata,
    Column("_idnum", Uuid(), primary_key=True),
    Column("paydte", Date()),
    Column("linnum", Integer()),
    Column("empnum", RECNUM),
    Column("dscrpt", DESCRIPTION),
    Column("wrkord", NUMBER),
    Column("jobnum", RECNUM),
    Column("phsnum", Integer()),
    Column("cstcde", COST_CODE),
    Column("paytyp", CODE),  # pay type 1-9
    Column("paygrp", Integer()),
    Column("payrte", PAY_RATE),
    Column("payhrs", QTY),
    Column("pcerte", PAY_RATE),
    Column("pieces", QTY),
    Column("cmpcde", Integer()),
    Column("dptmnt", Integer()),
    Column("loctax", Integer()),
    Column("eqpnum", RECNUM),  # equipment repaired
    Column("opreqp", RECNUM),  # equipment operated
    Column("eqpunt", CODE),  # 1 hours ... 5 miles
    Column("oprhrs", QTY),
    Column("stdhrs", QTY),
    Column("idlhrs", QTY),
    Column("bllunt", CODE),
    Column("oprbll", QTY),
    Column("stdbll", QTY),
    Column("idlbll", QTY),
    Column("absnce", CODE),
    Column("usrdf1", USER_DEFINED),  # recon's link key "ST-LB-..."
    Column("ntetxt", UnicodeText()),
    *_audit(),
)
Index("ix_dlypyr_paydte", dlypyr.c.paydte, dlypyr.c.linnum)
Index("ix_dlypyr_usrdf1", dlypyr.c.usrdf1)

# 5-2-1 Employees (§2.17); recnum = employee #, user-assigned.
employ = _master(
    "employ",
    Column("lstnme", NAME),
    Column("fstnme", NAME),
    Column("midini", Unicode(1)),
    Column("status", CODE),  # 1 Current ... (§3.10)
    Column("emptyp", CODE),
    Column("payprd", CODE),
    Column("paygrp", Integer()),
    Column("payrt1", PAY_RATE),
    Column("payrt2", PAY_RATE),
    Column("payrt3", PAY_RATE),
    Column("salary", MONEY),
    Column("wrkcmp", Integer()),
    Column("paypst", Integer()),
    Column("loctax", Integer()),
    Column("taxste", STATE),
    Column("uninum", Integer()),
    Column("dtehre", Date()),
    Column("dteina", Date()),
    Column("inactv", CODE),
)

# 6-5 Cost codes (§2.15): recnum IS the cost code, decimal(15,3) (e.g. 1.100).
cstcde = Table(
    "cstcde",
    metadata,
    Column("_idnum", Uuid(), primary_key=True),
    Column("recnum", COST_CODE, nullable=False),
    Column("cdenme", NAME),
    Column("untdsc", Unicode(8)),
    Column("divnum", Integer()),
    Column("cmpcde", Integer()),
    Column("cmpcd2", Integer()),
    Column("dptnum", Integer()),
    Column("inactv", Unicode(2)),  # 'T' = inactive (v27), '' active
    *_audit(),
)
Index("ix_cstcde_recnum", cstcde.c.recnum, unique=True)
Index("ix_lgrtrn_source_period", lgrtrn.c.srcnum, lgrtrn.c.postyr, lgrtrn.c.actprd)

TABLES: dict[str, Table] = {table.name: table for table in metadata.sorted_tables}
#: Tables that hold postings or masters recon writes (a sandbox with rows here "has data").
DATA_TABLES = (
    "reccln",
    "actrec",
    "jobphs",
    "acrinv",
    "arivln",
    "artxdt",
    "lgrtrn",
    "lgtnln",
    "actpay",
    "acpinv",
    "apivln",
    "jobcst",
    "dlypyr",
)
#: Lookup tables a sandbox is seeded with.
SEED_TABLES = ("cmpany", "lgract", "taxent", "taxdst", "source", "csttyp", "employ", "cstcde")


# Not Sage's: the simulated Sage-side file import (adapters/sage/files_sink.py) records each batch
# it applied here, in the same transaction as the batch's rows, so a crash between committing
# and moving the batch folder never applies it twice. Sandbox only (SQLite); recon never creates
# it in a production database.
import_metadata = MetaData()
import_log = Table(
    "recon_import_log",
    import_metadata,
    Column("batch_id", Unicode(80), primary_key=True),
    Column("imported", DateTime()),
    Column("postings", Integer()),
    Column("result", UnicodeText()),  # JSON: what became of each posting of the batch
)


def guid_text(value: object) -> str:
    """A row GUID as recon names it: lowercase with dashes, whatever the driver returned
    (SQLite: 32 hex digits; pyodbc: text or ``uuid.UUID``). A value that is not a GUID (typed
    in by hand) is kept as its trimmed text."""
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip()))
    except ValueError:
        return str(value).strip()


def guid_equals(column: ColumnElement[Any], ref: str) -> ColumnElement[bool]:
    """``column = ref`` for a GUID column, matching any spelling the row may be stored in (the
    text comparisons go through CAST, which SQL Server also accepts for any ``ref``)."""
    as_text = cast(column, Unicode(64))
    try:
        parsed = uuid.UUID(ref)
    except ValueError:
        return as_text == ref
    return or_(column == parsed, as_text == ref, as_text == str(parsed))
