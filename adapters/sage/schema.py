"""Sage 100 Contractor's own tables, as SQLAlchemy Core metadata (reads SQL Server and sandbox).

Names and types follow docs/reference/sage100c-schema.md (§0 conventions, §2 tables), and NOT
NULL, text defaults, IDENTITY and foreign keys follow §8 (a live company database) for the
tables it covers; for the others the strict choice is made (docs/sage.md, "Constraints"). The
tables carry no schema name, so on SQL Server they resolve to the login's default schema ``dbo``
where Sage keeps its business tables; in a sandbox (SQLite or PostgreSQL) they are its tables.
Indexes other than the ``recnum`` ones exist only so the sandbox reads fast; recon never creates
tables on SQL Server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Unicode,
    UnicodeText,
    Uuid,
    cast,
    or_,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData()

# Column types (reference §0 "Data types").
CODE = SmallInteger().with_variant(mssql.TINYINT(), "mssql")  # status/type/period codes, flags
YEAR = SmallInteger()  # posting year
RECNUM = BigInteger()  # record numbers and references to them (jobnum, phsnum, lgrrec, ...)
MONEY = Numeric(12, 2)  # amounts on documents
GL_MONEY = Numeric(14, 2)  # GL lines and balances
QTY = Numeric(7, 2)  # hours and quantities
PRICE = Numeric(14, 4)  # unit prices and AR tax-detail rates: our choice (reference silent)
TAX_RATE = Numeric(8, 4)  # taxent.taxrt1, percent (reference: ~(8,4))
PERCENT = Numeric(7, 4)  # retention and class percentages: our choice (reference: "decimal")
COST_CODE = Numeric(15, 3)
PAY_RATE = Numeric(10, 4)  # pay, piece, accrual and workers' comp rates (reference §0)
NUMBER = Unicode(20)  # invoice, transaction, PO, check, account and reference numbers
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
NOTES = UnicodeText()  # ntetxt: nvarchar(max)
FILE = Unicode(260)  # imgfle, an attached file's path: our choice (reference silent)
FLAG_TEXT = Unicode(2)  # newer inactv columns: 'T' / '' (reference §0)


# -- how a column is declared ----------------------------------------------------------------


def _required(name: str, type_: Any, *args: Any) -> Column[Any]:
    """NOT NULL, no default: the writer fills it (a number's "nothing" is 0)."""
    return Column(name, type_, *args, nullable=False)


def _text(name: str, type_: Any) -> Column[Any]:
    """NOT NULL text defaulting to '' (Sage's optional text)."""
    return Column(name, type_, nullable=False, server_default="")


def _optional(name: str, type_: Any, *args: Any) -> Column[Any]:
    return Column(name, type_, *args)


def _identity() -> Column[Any]:
    """``recnum`` as SQL Server's IDENTITY: generated on insert, never written (§8)."""
    return Column("recnum", RECNUM, Identity(always=True), nullable=False)


def _key(*, identity: bool = False) -> list[Column[Any]]:
    recnum = _identity() if identity else _required("recnum", RECNUM)
    return [Column("_idnum", Uuid(), primary_key=True), recnum]


def _child_key() -> list[Column[Any]]:
    return [
        Column("_idnum", Uuid(), primary_key=True),
        _required("_idref", Uuid()),  # -> parent _idnum
        _required("recnum", RECNUM),  # = parent recnum, not unique here
    ]


def _audit(*, usrnme: bool = True) -> list[Column[Any]]:
    """Entry and SQL audit stamps: ``usrnme`` NOT NULL '' where §8 says so (or the table is not
    in §8); ``insdte``/``insusr`` default on SQL Server, ``upddte``/``updusr`` set by a trigger."""
    return [
        _optional("entdte", Date()),
        _text("usrnme", SQL_USER) if usrnme else _optional("usrnme", SQL_USER),
        _optional("insdte", DateTime()),
        _optional("insusr", SQL_USER),
        _optional("upddte", DateTime()),
        _optional("updusr", SQL_USER),
    ]


def _address() -> list[Column[Any]]:
    return [
        _text("addrs1", NAME),
        _text("addrs2", NAME),
        _text("ctynme", NAME),
        _text("state_", STATE),
        _text("zipcde", ZIP),
    ]


def _table(name: str, *columns: Any) -> Table:
    # Every Sage table has triggers, where SQL Server refuses OUTPUT inserted (error 334): never
    # let SQLAlchemy fetch generated values with RETURNING / OUTPUT.
    return Table(name, metadata, *columns, implicit_returning=False)


def _master(name: str, *columns: Any, identity: bool = False, usrnme: bool = True) -> Table:
    table = _table(name, *_key(identity=identity), *columns, *_audit(usrnme=usrnme))
    Index(f"ix_{name}_recnum", table.c.recnum, unique=True)
    return table


def _child(name: str, *columns: Any) -> Table:
    table = _table(name, *_child_key(), *columns, *_audit())
    Index(f"ix_{name}_recnum", table.c.recnum)
    return table


def _fk(target: str, name: str, **kw: Any) -> ForeignKey:
    return ForeignKey(target, name=name, **kw)


# -- receivables -----------------------------------------------------------------------------

# 3-6 Receivable Clients (§2.1); recnum = client #, user-assigned. Not in §8: strict choice.
reccln = _master(
    "reccln",
    _required("clnnme", LONG_NAME),
    _required("shtnme", SHORT_NAME),
    *_address(),
    _text("bilad1", NAME),
    _text("bilad2", NAME),
    _text("bilcty", NAME),
    _text("bilste", STATE),
    _text("bilzip", ZIP),
    _text("contct", NAME),
    _text("phnnum", PHONE),
    _text("e_mail", EMAIL),
    _text("email2", EMAIL),
    _text("email3", EMAIL),
    _optional("taxdst", Integer()),  # default district, may be empty
    _required("clntyp", Integer()),
    _required("status", CODE),
    _required("begbal", MONEY),
    _required("endbal", MONEY),
    _text("exmnum", SHORT_NAME),
    _text("usrdf1", USER_DEFINED),  # recon's link key "ST-CO-..."
    _text("usrdf2", USER_DEFINED),
    _text("usrdf3", USER_DEFINED),
    _text("usrdf4", USER_DEFINED),
    _text("usrdf5", USER_DEFINED),
    _required("inactv", CODE),
)

# 3-5 Jobs (§2.2); recnum = job #, user-assigned. Not in §8: strict choice.
actrec = _master(
    "actrec",
    _required("jobnme", LONG_NAME),
    _required("shtnme", SHORT_NAME),
    _optional("clnnum", RECNUM),  # a job of a location without a customer company has none
    _required("status", CODE),
    _required("jobtyp", Integer()),
    _optional("slstax", Integer()),  # sales-tax DISTRICT id, may be empty (as reccln.taxdst)
    _required("lcltax", Integer()),
    _required("lgract", RECNUM),
    _required("dptmnt", Integer()),
    _required("cntrct", MONEY),
    _required("retain", PERCENT),
    _required("pstwip", CODE),
    _required("crtfid", CODE),
    _required("begbal", MONEY),
    _required("endbal", MONEY),
    _required("sprvsr", RECNUM),
    _required("slsemp", RECNUM),
    _required("estemp", RECNUM),
    *_address(),
    _text("county", NAME),
    _optional("sttdte", Date()),
    _optional("cmpdte", Date()),
    _optional("ctcdte", Date()),
    _required("inactv", CODE),
)

# Job phases (§2.2 child): recnum = job, phsnum.
jobphs = _child(
    "jobphs",
    _required("phsnum", RECNUM),
    _required("phsnme", NAME),
    _required("status", CODE),
    _required("cntrct", MONEY),
    _required("inactv", CODE),
)

# 3-2 Receivable invoice/credit header (§2.4, §8); recnum IDENTITY.
acrinv = _master(
    "acrinv",
    _required("invnum", NUMBER),
    _optional("invdte", Date()),
    _optional("duedte", Date()),
    _optional("dscdte", Date()),
    _required("jobnum", RECNUM),
    _required("phsnum", RECNUM),  # 0: no phase
    _required("dscrpt", DESCRIPTION),
    _required("invtyp", CODE),
    _required("status", CODE),
    _optional("taxdst", Integer()),
    _required("subttl", MONEY),
    _required("taxabl", MONEY),
    _required("nontax", MONEY),
    _required("slstax", MONEY),  # sales-tax AMOUNT
    _required("retain", MONEY),
    _required("invamt", MONEY),
    _required("invttl", MONEY),
    _required("amtpad", MONEY),
    _required("ttlpad", MONEY),
    _required("dsctkn", MONEY),
    _required("dscavl", MONEY),
    _required("invbal", MONEY),
    _required("invnet", MONEY),
    _required("hldamt", MONEY),
    _required("hldbll", MONEY),
    _required("hldrem", MONEY),
    _required("pstsbj", MONEY),
    _required("pstamt", MONEY),
    _required("gstsbj", MONEY),
    _required("gstamt", MONEY),
    _required("hstsbj", MONEY),
    _required("hstamt", MONEY),
    _required("actper", CODE),
    _required("postyr", YEAR),
    _required("lgrrec", RECNUM),  # = lgrtrn.recnum of its GL transaction (docs/sage.md)
    _text("pchord", NUMBER),
    _text("refnum", NUMBER),
    _text("usrdf1", USER_DEFINED),  # recon's link key "ST-INV-..."
    _text("usrdf2", USER_DEFINED),
    _required("hotlst", CODE),
    _text("ntetxt", NOTES),
    _text("imgfle", FILE),
    _required("vodrec", RECNUM),  # recnum of the record this one replaced; 0: none
    identity=True,
)
Index("ix_acrinv_period", acrinv.c.postyr, acrinv.c.actper)
Index("ix_acrinv_usrdf1", acrinv.c.usrdf1)

# 3-2 grid lines (§2.5): recnum = acrinv.recnum, linnum.
arivln = _child(
    "arivln",
    _required("linnum", Integer()),
    _text("dscrpt", DESCRIPTION),
    _required("linqty", QTY),
    _required("linprc", PRICE),
    _required("extprc", MONEY),
    _required("lgract", RECNUM),
    _required("subact", Integer()),
    _required("cstcde", COST_CODE),
    _required("prtnum", Integer()),
    _text("alpnum", SHORT_NAME),
    _text("untdsc", Unicode(8)),
    _text("usrdf1", USER_DEFINED),
    _required("hldamt", MONEY),
    _required("bllamt", MONEY),
)

# AR tax detail (§2.7): one row per invoice per tax entity.
artxdt = _child(
    "artxdt",
    _required("taxent", Integer()),
    _required("sbjtax", MONEY),
    _required("taxrte", PRICE),
    _required("taxamt", MONEY),
)


def _payments(name: str, *party: Column[Any]) -> Table:
    """A payments table (3-3-1 ``acrpmt``, 4-3 ``acppmt``, §2.6, §2.10): recnum = the invoice
    paid (many rows each), each row its own _idnum; ``party`` are the denormalised columns."""
    return _child(
        name,
        _required("chknum", NUMBER),
        _optional("chkdte", Date()),
        _required("amount", MONEY),
        _required("dsctkn", MONEY),
        _required("aplcrd", MONEY),
        _required("actper", CODE),
        _required("postyr", YEAR),
        _required("lgrrec", RECNUM),
        *party,
        _optional("invdte", Date()),
    )


# 3-3-1 Cash receipts; jobnum denormalised, NOT NULL as on acrinv.
acrpmt = _payments("acrpmt", _required("jobnum", RECNUM))

# -- general ledger ----------------------------------------------------------------------------

# GL transaction header (§2.11). IDENTITY is the strict choice (§8 does not say, docs/sage.md).
lgrtrn = _master(
    "lgrtrn",
    _required("trnnum", NUMBER),
    _optional("trndte", Date()),
    _required("dscrpt", DESCRIPTION),
    _required("status", CODE),
    _required("srcnum", CODE),
    _required("actprd", CODE),
    _required("postyr", YEAR),
    _required("vndnum", RECNUM),
    _required("empnum", RECNUM),
    _text("payee1", NAME),
    _text("payee2", NAME),
    _required("chkamt", MONEY),
    _text("pchord", NUMBER),
    _required("lgrrec", RECNUM),  # its own recnum (the sink sets it after the insert)
    _required("jobvar", GL_MONEY),
    _required("eqpvar", GL_MONEY),
    _required("wipvar", GL_MONEY),
    _text("usrdf1", USER_DEFINED),
    _text("usrdf2", USER_DEFINED),
    identity=True,
)
Index("ix_lgrtrn_usrdf1", lgrtrn.c.usrdf1)
Index("ix_lgrtrn_source_period", lgrtrn.c.srcnum, lgrtrn.c.postyr, lgrtrn.c.actprd)

# GL transaction lines (§2.12): recnum = lgrtrn.recnum, linnum.
lgtnln = _child(
    "lgtnln",
    _required("linnum", Integer()),
    _required("lgract", RECNUM),
    _required("subact", Integer()),
    _text("dscrpt", DESCRIPTION),
    _required("dbtamt", GL_MONEY),
    _required("crdamt", GL_MONEY),
    _text("usrdf1", USER_DEFINED),
)

# 1-7 Ledger accounts (§2.13, §8); recnum = account #.
lgract = _master(
    "lgract",
    _required("shtnme", SHORT_NAME),
    _required("lngnme", NAME),
    _required("acttyp", CODE),
    _required("subact", CODE),
    # added after the table and its unique recnum index (PostgreSQL needs that order)
    _optional("sumact", RECNUM, _fk("lgract.recnum", "FK:lgract.sumact", use_alter=True)),
    _optional("csttyp", CODE),
    _required("dbtcrd", CODE),
    _required("jobsub", CODE),
    _required("iscrcd", CODE),
    _required("begbal", GL_MONEY),
    _required("endbal", GL_MONEY),
    _required("strbal", GL_MONEY),
    _required("nxtchk", RECNUM),
    _required("nxtdep", RECNUM),
    _text("ntetxt", NOTES),
    _text("bnk_id", NUMBER),
    _required("trn_id", RECNUM),
    _required("inactv", CODE),
    usrnme=False,
)

# Period balances (§2.13, §8): one row per account, year and period; recnum IDENTITY.
lgrbal = _master(
    "lgrbal",
    _required("_idref", Uuid(), _fk("lgract._idnum", "FK:lgrbal._idref")),
    _required("lgract", RECNUM, _fk("lgract.recnum", "FK:lgrbal.lgract")),
    _required("postyr", YEAR),
    _required("actprd", CODE),
    _required("balnce", GL_MONEY),
    _required("budget", GL_MONEY),
    identity=True,
    usrnme=False,
)

# Sales-tax districts (§2.16): up to five entities each; an empty slot is NULL.
taxdst = _master(
    "taxdst",
    _required("dstnme", NAME),
    _optional("entty1", Integer()),
    _optional("entty2", Integer()),
    _optional("entty3", Integer()),
    _optional("entty4", Integer()),
    _optional("entty5", Integer()),
    _required("inactv", CODE),
)
DISTRICT_ENTITY_COLUMNS = ("entty1", "entty2", "entty3", "entty4", "entty5")

# Sales-tax entities (§2.16). ``lgract`` (liability account) is OUR column: the reference does
# not say where Sage keeps an entity's account (docs/sage.md).
taxent = _master(
    "taxent",
    _required("entnme", NAME),
    _text("paynme", NAME),
    *_address(),
    _required("taxrt1", TAX_RATE),
    _required("limit1", MONEY),
    _required("lmtyp1", CODE),
    _optional("lgract", RECNUM),
)

# Transaction sources (§2.15, §3.6).
source = _master("source", _required("srcnme", NAME), _text("srcdsc", NAME))

# Cost types 1-9 (§2.15, §3.5).
csttyp = _master("csttyp", _required("typnme", SHORT_NAME))

# 7-1 Company information (§1). Only usrdf1 is confirmed by Sage; the rest is our sandbox shape.
cmpany = _master(
    "cmpany",
    _required("cmpnme", LONG_NAME),
    *_address(),
    _text("phnnum", PHONE),
    _text("usrdf1", USER_DEFINED),
)

# -- payables --------------------------------------------------------------------------------

# 4-4 Vendors (§2.3); recnum = vendor #, user-assigned (stored as ``vndnum`` elsewhere).
actpay = _master(
    "actpay",
    _required("vndnme", LONG_NAME),
    _required("shtnme", SHORT_NAME),
    *_address(),
    _text("phnnum", PHONE),
    _text("e_mail", EMAIL),
    _text("fedidn", NUMBER),
    _required("lgrdft", RECNUM),  # default ledger account for its invoices
    _required("cdedft", COST_CODE),  # default cost code / type for job-cost distribution
    _required("typdft", CODE),
    _required("stsdft", CODE),  # default invoice status (1 Open, 2 Review)
    _required("dupchk", CODE),
    _required("vndtyp", Integer()),
    _optional("taxdst", Integer()),  # as reccln.taxdst
    _required("utxrte", TAX_RATE),  # use-tax rate: type our choice (reference: "decimal")
    _required("prt199", CODE),  # 1099 type
    _required("begbal", MONEY),
    _required("endbal", MONEY),
    _required("hotlst", CODE),
    _required("inactv", CODE),
)

# 4-2 Payable invoice/credit header (§2.8, §8); recnum IDENTITY.
acpinv = _master(
    "acpinv",
    _required("invnum", NUMBER),
    _required("vndnum", RECNUM),
    _optional("jobnum", RECNUM),  # nullable (reference §2.8; trigger TR:acpinv_NullPhase)
    _optional("phsnum", RECNUM),
    _text("pchord", NUMBER),
    _text("ctcnum", NUMBER),
    _required("dscrpt", DESCRIPTION),
    _optional("invdte", Date()),
    _optional("duedte", Date()),
    _optional("dscdte", Date()),
    _required("invtyp", CODE),
    _required("status", CODE),
    _required("subttl", MONEY),
    _required("invamt", MONEY),
    _required("invttl", MONEY),
    _required("slstax", MONEY),
    _required("usetax", Numeric(8, 2)),  # use-tax RATE (reference: decimal(8,2))
    _required("usettl", MONEY),
    _optional("usedst", Integer()),
    _required("retain", MONEY),
    _required("freigh", Numeric(9, 2)),
    _required("adjust", Numeric(9, 2)),
    _required("amtpad", MONEY),
    _required("ttlpad", MONEY),
    _required("dsctkn", MONEY),
    _required("dscavl", MONEY),
    _required("setpay", MONEY),
    _required("invbal", MONEY),
    _required("invnet", MONEY),
    _required("hldamt", MONEY),
    _required("hldbll", MONEY),
    _required("hldrem", MONEY),
    _required("cmpamt", MONEY),
    _required("pstamt", MONEY),
    _required("qstamt", MONEY),
    _required("gstamt", MONEY),
    _required("hstamt", MONEY),
    _required("rcpamt", MONEY),
    _required("actper", CODE),
    _required("postyr", YEAR),
    _required("lgrrec", RECNUM),  # = lgrtrn.recnum of its GL transaction (as on acrinv)
    _required("btcnum", Integer()),
    _text("refnum", NUMBER),
    _text("shpnum", NUMBER),
    _text("payee2", NAME),
    _text("usrdf1", USER_DEFINED),  # recon's link key "PL-BILL-..."
    _text("usrdf2", USER_DEFINED),
    _required("hotlst", CODE),
    _text("ntetxt", NOTES),
    _text("apinte", NAME),
    _text("vodrec", Unicode(300)),  # text here, unlike acrinv.vodrec (reference §2.8)
    identity=True,
)
Index("ix_acpinv_period", acpinv.c.postyr, acpinv.c.actper)
Index("ix_acpinv_usrdf1", acpinv.c.usrdf1)

# 4-2 grid lines (§2.9): recnum = acpinv.recnum, linnum. A GL distribution (job cost is jobcst).
apivln = _child(
    "apivln",
    _required("linnum", Integer()),
    _text("prtdsc", DESCRIPTION),
    _required("linqty", QTY),
    _required("linprc", PRICE),
    _required("extttl", MONEY),
    _required("actnum", RECNUM),  # ledger account (AP says actnum, not lgract)
    _required("subact", Integer()),
    _required("prtnum", Integer()),
    _text("alpnum", SHORT_NAME),
    _text("untdsc", Unicode(8)),
    _required("invloc", Integer()),
    _text("sernum", SHORT_NAME),
    _text("linref", NUMBER),
    _required("hldamt", MONEY),
    _required("invamt", MONEY),
)

# 4-3 Vendor payments; the vendor, and the job as on acpinv (nullable).
acppmt = _payments("acppmt", _required("vndnum", RECNUM), _optional("jobnum", RECNUM))

# -- payroll ---------------------------------------------------------------------------------

# Pay groups, unions, workers' comp (§8); recnum user-chosen.
payuni = _master(
    "payuni",
    _required("uninme", NAME),
    *_address(),
    _text("phnnum", PHONE),
    _required("rppact", Integer()),
    usrnme=False,
)
paygrp = _master(
    "paygrp",
    _required("grpnme", NAME),
    _text("wrkcls", NAME),
    _required("clslvl", CODE),
    _required("clsprc", PERCENT),
    _text("clscde", NUMBER),
    _text("ovrrde", NUMBER),
    _required("payrt1", PAY_RATE),
    _required("payrt2", PAY_RATE),
    _required("payrt3", PAY_RATE),
    _required("pcerte", PAY_RATE),
    _optional("uninum", RECNUM, _fk("payuni.recnum", "FK:paygrp.uninum")),
    _text("ntetxt", NOTES),
    _text("inactv", FLAG_TEXT),
    usrnme=False,
)
wkrcmp = _master(
    "wkrcmp",
    _required("cdenme", NAME),
    _text("taxste", STATE),
    _required("pctrte", PAY_RATE),
    _required("emehrs", PAY_RATE),
    _required("emrhrs", PAY_RATE),
    _required("libins", PAY_RATE),
    _required("expmod", PAY_RATE),
    _required("addmod", PAY_RATE),
    _required("maxwge", MONEY),
    _text("ntetxt", NOTES),
    _text("inactv", FLAG_TEXT),
    usrnme=False,
)


def _numbered(prefix: str, type_: Any, *, start: int = 1, text: bool = False) -> list[Column[Any]]:
    """``prefix1``..``prefix4`` (employ's quarters and deposit accounts)."""
    make = _text if text else _required
    return [make(f"{prefix}{n}", type_) for n in range(start, 5)]


def _deposit_account(n: int) -> list[Column[Any]]:
    """Direct deposit account n (1 has its own names, 2-4 are numbered)."""
    if n == 1:
        names = ("actnum", "rtnmbr", "prente", "acttyp", "depamt")
    else:
        names = (f"actnm{n}", f"rtnmb{n}", f"prent{n}", f"acttp{n}", f"dp{n}amt")
    return [
        _text(names[0], NUMBER),
        _text(names[1], NUMBER),
        _required(names[2], CODE),
        _required(names[3], CODE),
        _required(names[4], MONEY),
    ]


def _eft_account(n: int) -> list[Column[Any]]:
    suffix = "" if n == 1 else str(n)
    names = (
        ("eftsts", "eftiid", "eftrtn", "eftact")
        if n == 1
        else (f"eftst{suffix}", f"eftid{suffix}", f"eftrt{suffix}", f"eftac{suffix}")
    )
    return [_required(names[0], CODE), *(_text(name, NUMBER) for name in names[1:])]


# 5-2-1 Employees (§2.17, §8); recnum = employee #, user-assigned.
employ = _master(
    "employ",
    _required("lstnme", NAME),
    _required("fstnme", NAME),
    _text("midini", Unicode(1)),
    _required("status", CODE),  # 1 Current ... (§3.10)
    *_address(),
    _text("phnnum", PHONE),
    _text("pagnum", PHONE),
    _text("faxnum", PHONE),
    _text("cllphn", PHONE),
    _text("homnum", PHONE),
    _text("e_mail", EMAIL),
    _text("socsec", Unicode(11)),
    _required("gender", CODE),
    _required("mrtsts", CODE),
    _required("hertge", CODE),
    _required("paypst", Integer()),
    _required("wrkcmp", RECNUM, _fk("wkrcmp.recnum", "FK:employ.wrkcmp")),
    _required("empcmp", CODE),
    _required("crtrpt", CODE),
    _required("taxste", STATE),
    _required("payprd", CODE),
    _optional("paygrp", RECNUM, _fk("paygrp.recnum", "FK:employ.paygrp")),
    _optional("uninum", RECNUM, _fk("payuni.recnum", "FK:employ.uninum")),
    _optional("loctax", Integer()),
    _required("payrt1", PAY_RATE),
    _required("payrt2", PAY_RATE),
    _required("payrt3", PAY_RATE),
    _required("salary", MONEY),
    _required("advdue", MONEY),
    _required("accsck", QTY),
    _required("sckrte", PAY_RATE),
    _required("sckmth", CODE),
    _required("accvac", QTY),
    _required("vacrte", PAY_RATE),
    _required("vacmth", CODE),
    _text("usrdf1", USER_DEFINED),
    _text("usrdf2", USER_DEFINED),
    _text("ntetxt", NOTES),
    *(_required(f"qt{n}{kind}", MONEY) for kind in ("grs", "fic", "med") for n in range(1, 5)),
    _text("imgfle", FILE),
    _required("i9verf", CODE),
    _required("exmovr", CODE),
    _required("emptyp", CODE),
    _required("comisn", PAY_RATE),
    *(column for n in range(1, 5) for column in _deposit_account(n)),
    _required("dirdep", CODE),
    _required("retchk", CODE),
    _text("fullst", NAME),
    _text("fulfst", NAME),
    _required("rtetyp", CODE),
    *_numbered("rtetp", CODE, start=2),
    _required("sckchk", CODE),
    _required("htglst", CODE),
    _required("hiract", CODE),
    _text("pyreml", EMAIL),
    _required("othded", MONEY),
    _required("nthzne", CODE),
    _required("lbspfn", CODE),
    _required("addtax", MONEY),
    *(column for n in range(1, 5) for column in _eft_account(n)),
    _required("vacdue", QTY),
    _required("w_2elc", CODE),
    _required("acaelc", CODE),
    _required("sckmax", QTY),
    _required("sckbeg", QTY),
    _required("paycls", CODE),
    _required("inactv", CODE),
    _required("vacmax", QTY),
    _required("vacbeg", QTY),
    _required("scklmt", QTY),
    _required("sckytd", QTY),
    _required("fdskrt", PAY_RATE),
    _required("fdsklm", QTY),
    _required("fdsktd", QTY),
    _required("vaclmt", QTY),
    _required("vacytd", QTY),
    _required("eeoprx", CODE),
    _required("w4_1_c", CODE),
    _required("w4_2_c", CODE),
    _required("w4_3__", MONEY),
    _required("w4_4_a", MONEY),
    _required("w4_4_b", MONEY),
    _required("w4_4_c", MONEY),
    _required("admacs", CODE),
    _text("ncknme", NAME),
    _optional("dtehre", Date()),
    _optional("dteina", Date()),
    usrnme=False,
)

# 5-2-2 Payroll records / checks (§2.18, §8); recnum IDENTITY.
payrec = _master(
    "payrec",
    _required("empnum", RECNUM, _fk("employ.recnum", "FK:payrec.empnum")),
    _optional("strprd", Date()),
    _optional("payprd", Date()),
    _required("chknum", NUMBER),
    _optional("chkdte", Date()),
    _required("taxste", STATE),
    _required("salary", MONEY),
    _required("payrt1", PAY_RATE),
    _required("payrt2", PAY_RATE),
    _required("payrt3", PAY_RATE),
    _required("advnce", MONEY),
    _required("paytyp", CODE),  # payroll-RECORD type 1-6 (not a pay type)
    _required("status", CODE),
    _required("qtrnum", CODE),
    *(
        _required(name, QTY)
        for name in ("reghrs", "ovthrs", "prmhrs", "sckhrs", "vachrs", "holhrs", "pieces")
    ),
    _required("ttlhrs", QTY),
    *(
        _required(name, MONEY)
        for name in ("regpay", "ovtpay", "prmpay", "sckpay", "vacpay", "holpay")
    ),
    _required("pcerte", PAY_RATE),
    _required("perdim", MONEY),
    _required("mscpay", MONEY),
    _required("grspay", MONEY),
    _required("dedttl", MONEY),
    _required("addttl", MONEY),
    _required("netpay", MONEY),
    _required("pcpyrt", PAY_RATE),
    _required("dirdep", MONEY),
    _required("lgrrec", RECNUM),
    _text("ntetxt", NOTES),
    _required("ddpbch", Integer()),
    _required("vacatn", MONEY),
    _required("acahr1", QTY),
    _required("acahr2", QTY),
    _required("acaovr", CODE),
    _required("cmpgrs", MONEY),
    _required("cmpwge", MONEY),
    _required("accsck", QTY),
    _required("ytdgrs", MONEY),
    _required("ytdnet", MONEY),
    _required("accvac", QTY),
    _required("fedsck", QTY),
    _required("stdsck", QTY),
    identity=True,
)

# Timecard lines (§2.19): recnum = payrec.recnum, linnum. Not in §8: strict choice.
tmcdln = _child(
    "tmcdln",
    _required("linnum", Integer()),
    _optional("dtewrk", Date()),
    _required("daywrk", CODE),
    _text("dscrpt", DESCRIPTION),
    _text("wrkord", NUMBER),
    _required("jobnum", RECNUM),
    _required("phsnum", RECNUM),
    _optional("eqpnum", RECNUM),  # equipment repaired, may be empty (as jobcst.eqpnum)
    _required("cstcde", COST_CODE),
    _required("paytyp", CODE),  # PAY type 1-9
    _required("paygrp", RECNUM),
    _required("payrte", PAY_RATE),
    _required("hrswrk", QTY),
    _required("pcerte", PAY_RATE),
    _required("pieces", QTY),
    _required("cmpcde", RECNUM),
    _required("dptmnt", Integer()),
    _required("loctax", Integer()),
    _required("crtfid", CODE),
    _required("jobcst", MONEY),
    _required("cmpwge", MONEY),
    _required("cmpgrs", MONEY),
    _required("absnce", CODE),
)

# 6-3 Job cost records (§2.14, §8); recnum IDENTITY. One row per cost.
jobcst = _master(
    "jobcst",
    _required("jobnum", RECNUM),
    _required("phsnum", RECNUM),  # 0: no phase
    _text("wrkord", NUMBER),
    _required("trnnum", NUMBER),
    _required("dscrpt", DESCRIPTION),
    _optional("trndte", Date()),
    _required("actprd", CODE),
    _required("postyr", YEAR),
    _required("srcnum", CODE),
    _required("status", CODE),  # 1 Open, 2 Void
    _required("bllsts", CODE),
    _required("cstcde", COST_CODE),
    _required("csttyp", CODE),
    _optional("vndnum", RECNUM),
    _optional(
        "empnum",
        RECNUM,
        _fk("employ.recnum", "FK:jobcst.empnum_SetNull", ondelete="SET NULL"),
    ),
    _optional("eqpnum", RECNUM),
    _optional("payrec", RECNUM, _fk("payrec.recnum", "FK:jobcst.payrec")),
    _required("paytyp", CODE),  # PAY type 1-9 (not payrec's record type); 0: not labor
    _required("csthrs", QTY),
    _required("cstamt", MONEY),
    _required("pieces", QTY),
    _required("blgqty", QTY),
    _required("blgamt", MONEY),
    _required("blgunt", QTY),
    _required("blgttl", MONEY),
    _required("eqptyp", CODE),
    _required("eqpunt", CODE),
    _required("eqpqty", QTY),
    _required("ovhamt", MONEY),
    _required("pftamt", MONEY),
    _required("shwamt", MONEY),
    _required("grswge", MONEY),
    _required("ovrrde", CODE),
    _required("active", CODE),
    _required("acrinv", RECNUM),  # AR invoice recnum that billed it (a column, not the table)
    _required("taxabl", CODE),
    _required("lgrrec", RECNUM),
    _text("ntetxt", NOTES),
    identity=True,
)
Index("ix_jobcst_period", jobcst.c.postyr, jobcst.c.actprd)
Index("ix_jobcst_source_job", jobcst.c.srcnum, jobcst.c.jobnum)

# 5-5-1 Daily payroll entry (§2.20): one row per employee-day line, keyed by paydte + linnum.
# No recnum (reference unknown #8): the row's own _idnum is its reference. Strict choice.
dlypyr = _table(
    "dlypyr",
    Column("_idnum", Uuid(), primary_key=True),
    _required("paydte", Date()),
    _required("linnum", Integer()),
    _required("empnum", RECNUM),
    _text("dscrpt", DESCRIPTION),
    _text("wrkord", NUMBER),
    _required("jobnum", RECNUM),
    _required("phsnum", RECNUM),
    _required("cstcde", COST_CODE),
    _required("paytyp", CODE),  # pay type 1-9
    _required("paygrp", RECNUM),
    _required("payrte", PAY_RATE),
    _required("payhrs", QTY),
    _required("pcerte", PAY_RATE),
    _required("pieces", QTY),
    _required("cmpcde", RECNUM),
    _required("dptmnt", Integer()),
    _required("loctax", Integer()),
    _optional("eqpnum", RECNUM),  # equipment repaired, may be empty
    _optional("opreqp", RECNUM),  # equipment operated, may be empty
    _required("eqpunt", CODE),  # 1 hours ... 5 miles
    _required("oprhrs", QTY),
    _required("stdhrs", QTY),
    _required("idlhrs", QTY),
    _required("bllunt", CODE),
    _required("oprbll", QTY),
    _required("stdbll", QTY),
    _required("idlbll", QTY),
    _required("absnce", CODE),
    _text("usrdf1", USER_DEFINED),  # recon's link key "ST-LB-..."
    _text("ntetxt", NOTES),
    *_audit(),
)
Index("ix_dlypyr_paydte", dlypyr.c.paydte, dlypyr.c.linnum)
Index("ix_dlypyr_usrdf1", dlypyr.c.usrdf1)

# 6-5 Cost codes (§2.15): recnum IS the cost code, decimal(15,3) (e.g. 1.100).
cstcde = _table(
    "cstcde",
    Column("_idnum", Uuid(), primary_key=True),
    _required("recnum", COST_CODE),
    _required("cdenme", NAME),
    _text("untdsc", Unicode(8)),
    _required("divnum", Integer()),
    _required("cmpcde", Integer()),
    _required("cmpcd2", Integer()),
    _required("dptnum", Integer()),
    _text("inactv", FLAG_TEXT),  # 'T' = inactive (v27), '' active
    *_audit(),
)
Index("ix_cstcde_recnum", cstcde.c.recnum, unique=True)

TABLES: dict[str, Table] = {table.name: table for table in metadata.sorted_tables}
#: Tables whose ``recnum`` is IDENTITY: generated by the database, never written.
IDENTITY_TABLES = tuple(
    name for name, table in TABLES.items() if "recnum" in table.c and table.c.recnum.identity
)
#: Tables that hold postings, masters or history (a sandbox with rows here "has data").
DATA_TABLES = (
    "reccln",
    "actrec",
    "jobphs",
    "acrinv",
    "arivln",
    "artxdt",
    "acrpmt",
    "lgrtrn",
    "lgtnln",
    "lgrbal",
    "actpay",
    "acpinv",
    "apivln",
    "acppmt",
    "jobcst",
    "dlypyr",
    "payrec",
    "tmcdln",
)
#: Lookup tables a sandbox is seeded with, parents before the tables that refer to them.
SEED_TABLES = (
    "cmpany",
    "lgract",
    "taxent",
    "taxdst",
    "source",
    "csttyp",
    "payuni",
    "paygrp",
    "wkrcmp",
    "employ",
    "cstcde",
)


def zero_of(column: Column[Any]) -> Any:
    """What a Sage window writes into a NOT NULL column it has nothing for: 0 or ''."""
    type_ = column.type
    if isinstance(type_, Numeric):
        return Decimal(0)
    if isinstance(type_, Integer):
        return 0
    if isinstance(type_, String):  # Unicode, UnicodeText
        return ""
    raise TypeError(f"no zero for {column.table.name}.{column.name} ({type_})")


def must_fill(table: Table) -> tuple[Column[Any], ...]:
    """The columns a writer must give a value (NOT NULL, no server default, not generated);
    the primary key and dates are the writer's own to give."""
    return tuple(
        column
        for column in table.columns
        if not column.nullable
        and column.server_default is None
        and column.identity is None
        and not column.primary_key
        and not isinstance(column.type, (Date, DateTime, Uuid))
    )


_ZEROS: dict[str, dict[str, Any]] = {}


def window_zeros(table: Table, given: Iterable[str] = ()) -> dict[str, Any]:
    """0 / '' for every column ``must_fill`` names that ``given`` does not."""
    zeros = _ZEROS.get(table.name)
    if zeros is None:
        zeros = _ZEROS[table.name] = {c.name: zero_of(c) for c in must_fill(table)}
    skip = set(given)
    return {name: value for name, value in zeros.items() if name not in skip}


@compiles(CreateColumn, "sqlite")
def _sqlite_identity(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str:
    """SQLite has no IDENTITY on a column that is not the rowid: an identity ``recnum`` is
    created nullable, and the sandbox's triggers generate it and refuse explicit values
    (adapters/sage/ddl.py)."""
    text = compiler.visit_create_column(element, **kw)  # type: ignore[no-untyped-call]
    column = element.element
    if isinstance(column, Column) and column.identity is not None and text is not None:
        text = text.replace(" NOT NULL", "")
    return str(text)


# Not Sage's: the simulated Sage-side file import (adapters/sage/files_sink.py) records each batch
# it applied here, in the same transaction as the batch's rows, so a crash between committing
# and moving the batch folder never applies it twice. Sandbox only; recon never creates it in a
# production database.
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
