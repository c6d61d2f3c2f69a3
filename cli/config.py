"""recon.toml: one pydantic model per table; every error names the key and the form expected."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any, Self, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from annotated_types import Ge, Gt, Interval, Len
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError, core_schema

from adapters.store import StoreConfigError, store_env
from application.ingest import DEFAULT_OVERLAP
from domain.mapping import JOB_PER_JOB, JOB_PER_LOCATION, Mapping, TaxDistrict, TaxEntity
from domain.money import ZERO, MoneyError, money
from domain.policy import DEFAULT_POLICY, NO_PERIODS, PERIOD, Periods, Policy
from domain.posting import Action
from projections.sealing import KEY_FORM, key_material

EMBEDDED = "embedded"
AUTH_MODES = ("oauth2", "session")
SINKS = ("sql", "files")
#: Keys whose values never appear in an error message, whatever is wrong with them.
SECRET_KEYS = frozenset({"password", "client_secret", "cipher_key", "token"})
STORE_URL_FORMS = "sqlite:///path/to/recon.db or postgresql://user:password@host:port/database"


class ConfigError(ValueError):
    """A configuration value recon cannot use."""


# How validators report a problem. pydantic's own wording is replaced (see _line), so each kind
# carries just what the message needs: the form expected, or the whole line when the message
# comes from elsewhere already naming its key (store_env's).
EXPECTED = "recon_expected"  # msg: "expected ..."; the key and the value are put before it
MISSING = "recon_missing"  # msg: why the key is needed; "<key> is missing: " goes before it
LINE = "recon_line"  # msg: the whole line
OURS = (EXPECTED, MISSING, LINE)


def _expected(what: str) -> PydanticCustomError:
    return PydanticCustomError(EXPECTED, "expected {what}", {"what": what})


Problem = tuple[tuple[str | int, ...], PydanticCustomError, Any]  # where, what, the value there


def _problems(title: str, problems: list[Problem]) -> None:
    """Raise every cross-key problem of a table at once, each at its own key.

    pydantic turns a ValidationError raised in a validator into line errors under the
    validator's location, so ``servicetrade.client_id`` is named rather than ``servicetrade``.
    """
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [InitErrorDetails(type=kind, loc=loc, input=value) for loc, kind, value in problems],
        )


@dataclass(frozen=True, slots=True)
class Expect:
    """Annotated metadata: a failure at the value itself reads "expected <what>".

    ``check`` adds a test no annotated_types constraint expresses (a time zone, a date). Errors
    inside a table or list (a bad rate in a tax entity) keep their own key and message.
    """

    what: str
    check: Callable[[Any], bool] | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(self._validate, handler(source))

    def _validate(self, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            result = handler(value)
        except ValidationError as exc:
            # Only pydantic's generic complaints about the value itself are reworded: a problem
            # further in keeps its own key, and our own messages are already worded.
            if any(error["loc"] or error["type"] in OURS for error in exc.errors()):
                raise
            raise _expected(self.what) from None
        if self.check is not None and not self.check(result):
            raise _expected(self.what)
        return result


@dataclass(frozen=True, slots=True)
class DecimalText:
    """Annotated metadata: an exact decimal (Decimal), written in quotes in recon.toml."""

    example: str
    minimum: Decimal | None = None

    @property
    def what(self) -> str:
        return f"a decimal in quotes, e.g. {self.example}"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._validate)

    def _validate(self, value: Any) -> Decimal:
        if isinstance(value, float):
            # A TOML float is already rounded to binary when recon sees it: 0.1 is not 0.1.
            raise _expected(
                f'a text string: write the decimal in quotes, "{value!r}" '
                "(a TOML float is not exact)"
            )
        if not isinstance(value, str):
            raise _expected(self.what)
        try:
            result = money(value)
        except MoneyError:
            raise _expected(self.what) from None
        if self.minimum is not None and result < self.minimum:
            raise _expected(f"a decimal of {self.minimum} or more, e.g. {self.example}")
        return result


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        return False
    return True


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _date_text(value: Any) -> Any:
    """A TOML date (start_date = 2026-10-01) as the ISO text the simulator is given."""
    is_day = isinstance(value, date) and not isinstance(value, datetime)
    return value.isoformat() if is_day else value


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is true, but int("²") fails


def _one_of(*choices: str) -> Expect:
    return Expect(f"one of {', '.join(choices)}", lambda value: value in choices)


Seconds = Annotated[int, Gt(0), Expect("a whole number of seconds above 0")]
Overlap = Annotated[int, Ge(0), Expect("a whole number of seconds, 0 or more")]
Scale = Annotated[int, Ge(1), Expect("a whole number, 1 or more")]
Pace = Annotated[int, Interval(ge=0, le=1440), Expect("simulated minutes per second, 0 to 1440")]
Port = Annotated[int, Interval(ge=0, le=65535), Expect("a port number 0-65535 (0: any free one)")]
NumberStart = Annotated[int, Gt(0), Expect("a whole number above 0")]
Days = Annotated[int, Ge(0), Expect("a whole number of days, 0 or more")]
Month = Annotated[int, Interval(ge=1, le=12), Expect("1 to 12")]
PayType = Annotated[int, Interval(ge=1, le=9), Expect("a Sage pay type 1-9")]
CostType = Annotated[int, Interval(ge=1, le=9), Expect("a Sage cost type 1-9")]
TimeZone = Annotated[str, Expect("an IANA time zone, e.g. America/New_York", _is_zone)]
IsoDate = Annotated[
    str, BeforeValidator(_date_text), Expect("an ISO date, e.g. 2026-10-01", _is_iso_date)
]
AuthMode = Annotated[str, _one_of(*AUTH_MODES)]
Sink = Annotated[str, _one_of(*SINKS)]
JobNumbering = Annotated[str, _one_of(JOB_PER_LOCATION, JOB_PER_JOB)]
Rate = Annotated[Decimal, DecimalText('"4.75"', minimum=ZERO)]
Amount = Annotated[Decimal, DecimalText('"5000.00"', minimum=ZERO)]
PeriodText = Annotated[
    str, Expect("a period YYYY-MM, e.g. 2026-10", lambda text: bool(PERIOD.match(text)))
]
ActionName = Annotated[str, _one_of(*Action)]
CostCodeNumber = Annotated[Decimal, DecimalText('"1.100"')]
DistrictNumber = Annotated[str, Expect("the Sage district number as the table name", _is_number)]
EntityNumber = Annotated[str, Expect("the Sage tax entity number as the key", _is_number)]


# An ODBC connection string passed in a URL's query (odbc_connect=...;PWD=...), often
# percent-encoded (PWD%3D), holds one too. Everything after it goes: a braced ODBC value may
# itself hold ";" or "&".
_QUERY_PASSWORD = re.compile(r"(?is)(?:pwd|password)(?:=|%3d)(.*)")


def masked(text: str) -> str:
    """A URL with *** where a password may be: from "user:" to the last "@", and after PWD=.

    Those spans cover the password however a driver splits the URL (SQLAlchemy and urlsplit
    differ when it holds "@" or "/"); hiding a little too much is the safe mistake. Both spans
    are found in the original text, so one cannot shift the other and uncover a piece.
    """
    hidden = [False] * len(text)
    at = text.rfind("@")
    if at >= 0:
        scheme_end = text.find("://")
        userinfo = scheme_end + 3 if 0 <= scheme_end < at else 0
        colon = text.find(":", userinfo, at)
        if colon >= 0:
            hidden[colon + 1 : at] = [True] * (at - colon - 1)
    match = _QUERY_PASSWORD.search(text)
    if match:
        hidden[match.start(1) :] = [True] * (len(text) - match.start(1))
    return "".join(
        "***" if secret else "".join(char for char, _ in run)
        for secret, run in groupby(zip(text, hidden, strict=True), key=lambda pair: pair[1])
    )


def _store_url(url: str) -> str:
    try:
        store_env(url)
    except StoreConfigError as exc:
        # store_env's message names the form expected; it quotes the URL, password and all.
        message = str(exc)
        if repr(url) in message:
            line = message.replace(repr(url), repr(masked(url)))
        else:  # worded some other way: say it here rather than risk the password
            line = f"store.url {masked(url)!r}: expected {STORE_URL_FORMS}"
        raise PydanticCustomError(LINE, "{line}", {"line": line}) from None
    return url


def _sage_url(url: str) -> str:
    # postgresql: a PostgreSQL-hosted sandbox (adapters/sage/engine.py makes it psycopg 3)
    if not url.startswith(("sqlite:", "mssql+pyodbc:", "postgresql:", "postgresql+psycopg:")):
        line = (
            f"sage.url {masked(url)!r}: expected mssql+pyodbc://user:password@host\\SAGE100CON/"
            "Company?driver=ODBC+Driver+18+for+SQL+Server or sqlite:///sage.db (a sandbox)"
        )
        raise PydanticCustomError(LINE, "{line}", {"line": line})
    return url


OAUTH2_KEYS = ("client_id", "client_secret")  # what a real API needs with auth = "oauth2"
SESSION_KEYS = ("username", "password")  # and with auth = "session"


def _needed(why: str) -> PydanticCustomError:
    return PydanticCustomError(MISSING, "expected a text string ({why})", {"why": why})


StoreUrl = Annotated[str, AfterValidator(_store_url), Expect(STORE_URL_FORMS)]


def _cipher_key(key: str) -> str:
    try:
        key_material(key)
    except ValueError:
        raise _expected(f"{KEY_FORM} (recon store new-key makes one)") from None
    return key


CipherKey = Annotated[str, AfterValidator(_cipher_key), Expect(f"text: {KEY_FORM}")]
SageUrl = Annotated[
    str,
    AfterValidator(_sage_url),
    Expect("mssql+pyodbc://user:password@host\\SAGE100CON/Company?driver=... or sqlite:///sage.db"),
]


class Table(BaseModel):
    """A recon.toml table: unknown keys are errors, values keep their TOML type (no true for
    1, no "30" for 30), and the settings read from it cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SimulatorSettings(Table):
    seed: int = 7
    state_file: str = ""  # the world is loaded from and saved to it; "": made afresh each run
    scale: Scale = 1
    start_date: IsoDate = "2026-10-01"
    #: How fast the embedded world runs while `recon sync` runs (simulated minutes per real
    #: second; 0: it stands still). Other commands see it as it stands.
    pace: Pace = 20


class ServiceTradeSettings(Table):
    base_url: str = EMBEDDED
    auth: AuthMode = "oauth2"
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    username: str = ""
    password: str = Field(default="", repr=False)
    timezone: TimeZone = "America/New_York"
    timeout_seconds: Seconds = 30
    overlap_seconds: Overlap = DEFAULT_OVERLAP
    writeback: bool = True
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.base_url != EMBEDDED:
            needed = OAUTH2_KEYS if self.auth == "oauth2" else SESSION_KEYS
            _problems(
                "servicetrade",
                [
                    ((key,), _needed(f"auth {self.auth} needs {' and '.join(needed)}"), "")
                    for key in needed
                    if not getattr(self, key)
                ],
            )
        return self


class PartsLedgerSettings(Table):
    base_url: str = EMBEDDED
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    timeout_seconds: Seconds = 30

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.base_url != EMBEDDED:
            _problems(
                "partsledger",
                [
                    (
                        (key,),
                        _needed(
                            f"a base_url other than {EMBEDDED} needs client_id and client_secret"
                        ),
                        "",
                    )
                    for key in OAUTH2_KEYS
                    if not getattr(self, key)
                ],
            )
        return self


class SageSettings(Table):
    url: SageUrl
    app_name: str = "recon"
    sink: Sink = "sql"  # sql: write as the Sage windows do; files: import batches
    drop_folder: str = ""  # where the files sink writes its batches
    current_period: PeriodText | None = None  # Sage's current period (1-6 Change Period)
    locked_through: PeriodText | None = None  # every period up to this one is locked

    @model_validator(mode="after")
    def _drop_folder(self) -> Self:
        if self.sink == "files" and not self.drop_folder:
            why = PydanticCustomError(
                MISSING, 'the files sink needs a folder, e.g. "/srv/sage-drop"'
            )
            _problems("sage", [(("drop_folder",), why, "")])
        return self

    @model_validator(mode="after")
    def _locks_before_current(self) -> Self:
        locked, current = self.locked_through, self.current_period
        if locked is not None and current is not None and locked >= current:
            why = _expected(
                f"a period before sage.current_period {current} (Sage never locks the current "
                "period)"
            )
            _problems("sage", [(("locked_through",), why, locked)])
        return self

    def periods(self) -> Periods:
        return Periods(self.current_period, self.locked_through)


RELAY_MODES = (EMBEDDED, "remote", "off")


class RelaySettings(Table):
    """Where `recon sync` hears of ServiceTrade's changes (docs/relay.md).

    embedded: a relay runs inside `recon sync` on loopback and its URL is registered as the
    webhook (the demo; a site whose ServiceTrade can reach this machine). remote: a relay run
    elsewhere (`recon relay serve`), reached at ``url`` with this agent's ``token``, and
    ``hook_url`` is the public URL ServiceTrade posts to. off: polling only.
    """

    mode: Annotated[str, _one_of(*RELAY_MODES)] = EMBEDDED
    url: str = ""  # wss://relay.example.com:8781
    token: str = Field(default="", repr=False)
    hook_url: str = ""  # https://relay.example.com/hooks/<secret>
    ca_file: str = ""  # a CA bundle for a relay with a private certificate
    hook_port: Port = 0  # the embedded relay's webhook port on loopback
    store: str = ""  # the embedded relay's store; "": relay.db beside the event store

    @model_validator(mode="after")
    def _remote(self) -> Self:
        if self.mode == "remote":
            _problems(
                "relay",
                [
                    ((key,), _needed("mode remote needs url, token and hook_url"), "")
                    for key in ("url", "token", "hook_url")
                    if not getattr(self, key)
                ],
            )
            if not self.url.startswith(("ws://", "wss://")):
                why = _expected("a WebSocket URL, e.g. wss://relay.example.com:8781")
                _problems("relay", [(("url",), why, self.url)])
        return self


class SyncSettings(Table):
    """How `recon sync` paces itself."""

    poll_interval_seconds: Seconds = 60  # each source polled, and Sage checked, this often
    backoff_max_seconds: Seconds = 300  # the longest wait before trying a failed part again


class StoreSettings(Table):
    url: StoreUrl
    cipher_key: CipherKey | None = Field(default=None, repr=False)  # set: store encrypted


class TaxEntitySettings(Table):
    recnum: int
    name: str
    rate: Rate  # percent
    account: int  # sales tax payable ledger account


Entities = Annotated[
    list[TaxEntitySettings], Len(1, 5), Expect("1 to 5 tax entities (Sage's limit)")
]


class TaxDistrictSettings(Table):
    name: str
    entities: Entities


class TaxSettings(Table):
    """Sage's districts, entities and rates are read from Sage (``taxdst``/``taxent``) at start.

    ``districts`` is what ``recon sandbox init`` seeds a sandbox with (and, when listed, the
    districts ``[mapping.tax_groups]`` may name); ``entity_accounts`` gives the sales-tax
    liability account of an entity (entity number -> account), which Sage does not hold.
    """

    districts: dict[DistrictNumber, TaxDistrictSettings] = Field(default_factory=dict)
    entity_accounts: dict[EntityNumber, int] = Field(default_factory=dict)

    def accounts(self) -> dict[int, int]:
        """Entity number -> liability account: the listed entities', then ``entity_accounts``."""
        listed = {
            entity.recnum: entity.account
            for district in self.districts.values()
            for entity in district.entities
        }
        given = {int(number): account for number, account in self.entity_accounts.items()}
        return {**listed, **given}


class CostCodeSettings(Table):
    code: CostCodeNumber
    type: CostType


CostCode = Annotated[
    CostCodeSettings,
    Expect('{code = "1.100", type = 1} (cost code in quotes, Sage cost type 1-9)'),
]

_MAPPING_FIELDS = {field.name: field for field in dataclasses.fields(Mapping)}


def _domain(name: str) -> Any:
    """The default domain.mapping.Mapping gives a setting: written there, and only there."""
    return _MAPPING_FIELDS[name].default


class MappingSettings(Table):
    ar_control_account: int
    default_income_account: int
    income_accounts: dict[str, int] = Field(default_factory=dict)  # item type -> account
    tax_groups: dict[str, int] = Field(default_factory=dict)  # ST tax group -> district
    default_tax_district: int | None = _domain("default_tax_district")
    job_numbering: JobNumbering = _domain("job_numbering")
    client_number_start: NumberStart = _domain("client_number_start")
    job_number_start: NumberStart = _domain("job_number_start")
    fiscal_year_start_month: Month = _domain("fiscal_year_start_month")
    due_days: Days = _domain("due_days")
    ap_control_account: int | None = _domain("ap_control_account")
    inventory_account: int | None = _domain("inventory_account")
    direct_expense_account: int | None = _domain("direct_expense_account")
    freight_account: int | None = _domain("freight_account")
    purchase_tax_account: int | None = _domain("purchase_tax_account")
    vendor_number_start: NumberStart = _domain("vendor_number_start")
    employees: dict[str, int] = Field(default_factory=dict)  # technician id or name -> employee
    pay_types: dict[str, PayType] = Field(default_factory=dict)  # labor item -> pay type
    cost_codes: dict[str, CostCode] = Field(default_factory=dict)
    default_cost_code: CostCode | None = None


class PolicySettings(Table):
    """What posts to Sage without a person (``domain.policy``)."""

    unattended: list[ActionName] = Field(default_factory=lambda: [str(Action.CREATE)])
    max_amount: Amount | None = None  # a posting of more than this waits; none: no threshold

    def to_policy(self) -> Policy:
        return Policy(frozenset(self.unattended), self.max_amount)


class ReconToml(Table):
    """The whole of recon.toml."""

    user: str = "recon"  # who Sage records recon's writes as
    store: StoreSettings
    servicetrade: ServiceTradeSettings = Field(default_factory=ServiceTradeSettings)
    partsledger: PartsLedgerSettings = Field(default_factory=PartsLedgerSettings)
    sage: SageSettings
    mapping: MappingSettings
    tax: TaxSettings = Field(default_factory=TaxSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)

    @model_validator(mode="after")
    def _districts_exist(self) -> Self:
        if not self.tax.districts:
            return self  # the districts are Sage's: checked against taxdst when recon starts
        districts = {int(number) for number in self.tax.districts}
        problems: list[Problem] = [
            (
                ("mapping", "tax_groups", group),
                _expected("the number of a district defined under [tax.districts]"),
                number,
            )
            for group, number in self.mapping.tax_groups.items()
            if number not in districts
        ]
        default = self.mapping.default_tax_district
        if default is not None and default not in districts:
            where = ("mapping", "default_tax_district")
            problems.append((where, _expected("a district defined under [tax.districts]"), default))
        _problems("recon.toml", problems)
        return self

    def to_mapping(self) -> Mapping:
        m = self.mapping
        return Mapping(
            ar_control_account=m.ar_control_account,
            default_income_account=m.default_income_account,
            income_accounts=dict(m.income_accounts),
            tax_districts={
                int(number): TaxDistrict(
                    int(number),
                    district.name,
                    tuple(
                        TaxEntity(e.recnum, e.name, e.rate, e.account) for e in district.entities
                    ),
                )
                for number, district in self.tax.districts.items()
            },
            tax_group_districts=dict(m.tax_groups),
            tax_entity_accounts=self.tax.accounts(),
            default_tax_district=m.default_tax_district,
            job_numbering=m.job_numbering,
            client_number_start=m.client_number_start,
            job_number_start=m.job_number_start,
            fiscal_year_start_month=m.fiscal_year_start_month,
            due_days=m.due_days,
            ap_control_account=m.ap_control_account,
            inventory_account=m.inventory_account,
            direct_expense_account=m.direct_expense_account,
            freight_account=m.freight_account,
            purchase_tax_account=m.purchase_tax_account,
            vendor_number_start=m.vendor_number_start,
            employees=dict(m.employees),
            pay_types=dict(m.pay_types),
            cost_codes={key: (cost.code, cost.type) for key, cost in m.cost_codes.items()},
            default_cost_code=(
                None
                if m.default_cost_code is None
                else (m.default_cost_code.code, m.default_cost_code.type)
            ),
        )


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    store_url: str
    cipher_key: str | None = dataclasses.field(repr=False)
    servicetrade: ServiceTradeSettings
    partsledger: PartsLedgerSettings
    sage: SageSettings
    mapping: Mapping
    user: str = ReconToml.model_fields["user"].default
    policy: Policy = DEFAULT_POLICY  # what posts without a person
    periods: Periods = NO_PERIODS  # Sage's current period and locks
    relay: RelaySettings = dataclasses.field(default_factory=RelaySettings)
    sync: SyncSettings = dataclasses.field(default_factory=SyncSettings)


# What pydantic's complaints about a value's TOML type mean, in recon.toml's words.
_TYPE_WORDS = {
    "int_type": "a whole number",
    "string_type": "a text string",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "a list",
}
_KIND_WORDS: dict[Any, str] = {
    int: "a whole number",
    str: "a text string",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _bare(kind: Any) -> Any:
    """The type under Annotated[...] and ``X | None``."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, types.UnionType):
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        else:
            return kind


def _is_table(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _walk(loc: tuple[int | str, ...]) -> tuple[str, Any, FieldInfo | None]:
    """Where an error is: the key as recon.toml spells it, the model of the table holding its
    last part (None for a table of names), and that last part's field (None if unknown)."""
    key = ""
    kind: Any = ReconToml
    parent: Any = None
    info: FieldInfo | None = None
    for part in loc:
        if part == "[key]":  # the table name itself is wrong; the message says what it needs
            continue
        parent, info = kind, None
        if isinstance(part, int):
            key, kind = f"{key}[{part}]", _bare(get_args(kind)[0]) if get_args(kind) else None
        elif _is_table(kind):
            key = f"{key}.{part}" if key else part
            info = kind.model_fields.get(part)
            kind = _bare(info.annotation) if info else None
        else:
            # A table of names (employees, tax groups): names come from ServiceTrade and may hold
            # spaces or dots, so they are quoted; district numbers read better bare.
            key = f"{key}.{part}" if _is_number(part) else f"{key}.{part!r}"
            args = get_args(kind)
            kind = _bare(args[1]) if len(args) == 2 else None
    return key or "recon.toml", parent, info


def _describe(info: FieldInfo | None) -> str:
    """What a key takes, for a message saying it is missing."""
    if info is None:
        return "a value"
    for meta in info.metadata:
        what = getattr(meta, "what", None)
        if isinstance(what, str):
            return what
    kind = _bare(info.annotation)
    return "a table" if _is_table(kind) else _KIND_WORDS.get(get_origin(kind) or kind, "a value")


def _shown(error: ErrorDetails) -> str | None:
    """The value as a message may show it: never a secret's, a URL's only without its password,
    and no tables or lists (they may hold secrets; the key says where to look)."""
    if any(part in SECRET_KEYS or part == "[key]" for part in error["loc"]):
        return None
    value = error["input"]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(masked(value))
    if isinstance(value, date):
        return value.isoformat()
    return None


def _line(error: ErrorDetails) -> str:
    """One problem as ``key = value: expected ...`` (``key: ...`` when the value is not shown)."""
    key, parent, info = _walk(error["loc"])
    kind = error["type"]
    if kind == LINE:
        return error["msg"]
    if kind == "extra_forbidden":
        what = "section" if isinstance(error["input"], dict) else "key"
        known = ", ".join(parent.model_fields) if _is_table(parent) else ""
        return f"{key}: unknown {what} (expected one of: {known})"
    if kind == "missing":
        return f"{key} is missing: expected {_describe(info)}"
    if kind == MISSING:
        return f"{key} is missing: {error['msg']}"
    problem = (
        error["msg"] if kind == EXPECTED else f"expected {_TYPE_WORDS.get(kind) or _describe(info)}"
    )
    shown = _shown(error)
    return f"{key}: {problem}" if shown is None else f"{key} = {shown}: {problem}"


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    try:
        toml = ReconToml.model_validate(data)
    except ValidationError as exc:
        lines = dict.fromkeys(_line(error) for error in exc.errors(include_url=False))
    else:
        return Config(
            path=path,
            store_url=toml.store.url,
            cipher_key=toml.store.cipher_key,
            servicetrade=toml.servicetrade,
            partsledger=toml.partsledger,
            sage=toml.sage,
            mapping=toml.to_mapping(),
            user=toml.user,
            policy=toml.policy.to_policy(),
            periods=toml.sage.periods(),
            relay=toml.relay,
            sync=toml.sync,
        )
    # Raised outside the except block so the ValidationError is not even its __context__: its
    # text repeats every value given, secrets included, and a traceback would print it.
    raise ConfigError("\n".join(lines))


def load_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no such configuration file (run recon demo to make one)"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, path)


def _defaults(model: type[BaseModel], *names: str) -> dict[str, Any]:
    """Keys with the defaults their model gives them, for the recon.toml the demo writes."""
    return {name: model.model_fields[name].get_default(call_default_factory=True) for name in names}


def default_config(workdir: Path) -> dict[str, Any]:
    """The embedded defaults: simulator, Sage sandbox and SQLite store under one folder.

    The chart of accounts and tax districts match what ``recon sandbox init`` seeds.
    """
    workdir = workdir.resolve()
    return {
        **_defaults(ReconToml, "user"),
        "store": {"url": f"sqlite:///{workdir / 'recon.db'}"},
        "servicetrade": {
            **_defaults(
                ServiceTradeSettings, "base_url", "auth", "timezone", "overlap_seconds", "writeback"
            ),
            "simulator": {
                **_defaults(SimulatorSettings, "seed"),
                "state_file": str(workdir / "simulator.json"),
                **_defaults(SimulatorSettings, "scale", "start_date"),
            },
        },
        "partsledger": _defaults(PartsLedgerSettings, "base_url"),
        "sage": {
            "url": f"sqlite:///{workdir / 'sage.db'}",
            **_defaults(SageSettings, "app_name", "sink"),
            "drop_folder": str(workdir / "sage-drop"),
        },
        "policy": _defaults(PolicySettings, "unattended"),
        "relay": _defaults(RelaySettings, "mode"),
        "sync": _defaults(SyncSettings, "poll_interval_seconds", "backoff_max_seconds"),
        "mapping": {
            "ar_control_account": 1200,
            "default_income_account": 4000,
            **_defaults(
                MappingSettings,
                "job_numbering",
                "client_number_start",
                "job_number_start",
                "fiscal_year_start_month",
                "due_days",
            ),
            "ap_control_account": 2000,
            "inventory_account": 1300,
            "direct_expense_account": 5000,
            "freight_account": 5100,
            "purchase_tax_account": 5000,
            **_defaults(MappingSettings, "vendor_number_start"),
            "income_accounts": {"labor": 4100, "part": 4200, "material": 4200, "fee": 4300},
            "pay_types": {"Regular Labor": 1, "Overtime Labor": 2, "Premium Labor": 3},
            "cost_codes": {
                "labor": {"code": "100.000", "type": 2},
                "part": {"code": "200.000", "type": 1},
                "material": {"code": "200.000", "type": 1},
                "purchase": {"code": "210.000", "type": 1},
            },
            "default_cost_code": {"code": "900.000", "type": 5},
            "employees": {},
            "tax_groups": {
                "Wake County NC": 1,
                "Durham County NC": 2,
                "Mecklenburg County NC": 3,
                "Orange County NC": 4,
                "Exempt": 9,
            },
        },
        "tax": {
            "districts": {
                "1": {
                    "name": "Wake County NC",
                    "entities": [
                        {"recnum": 10, "name": "North Carolina", "rate": "4.75", "account": 2310},
                        {"recnum": 11, "name": "Wake County", "rate": "2.00", "account": 2320},
                        {"recnum": 12, "name": "Wake Transit", "rate": "0.50", "account": 2320},
                    ],
                },
                "2": {
                    "name": "Durham County NC",
                    "entities": [
                        {"recnum": 10, "name": "North Carolina", "rate": "4.75", "account": 2310},
                        {"recnum": 21, "name": "Durham County", "rate": "2.25", "account": 2320},
                        {"recnum": 22, "name": "Durham Transit", "rate": "0.50", "account": 2320},
                    ],
                },
                "3": {
                    "name": "Mecklenburg County NC",
                    "entities": [
                        {"recnum": 10, "name": "North Carolina", "rate": "4.75", "account": 2310},
                        {
                            "recnum": 31,
                            "name": "Mecklenburg County",
                            "rate": "2.00",
                            "account": 2320,
                        },
                        {
                            "recnum": 32,
                            "name": "Charlotte Transit",
                            "rate": "0.50",
                            "account": 2320,
                        },
                    ],
                },
                "4": {
                    "name": "Orange County NC",
                    "entities": [
                        {"recnum": 10, "name": "North Carolina", "rate": "4.75", "account": 2310},
                        {"recnum": 41, "name": "Orange County", "rate": "2.25", "account": 2320},
                        {
                            "recnum": 42,
                            "name": "GoTriangle Transit",
                            "rate": "0.50",
                            "account": 2320,
                        },
                    ],
                },
                "9": {
                    "name": "Exempt",
                    "entities": [
                        {"recnum": 90, "name": "Exempt", "rate": "0.00", "account": 2310},
                    ],
                },
            }
        },
    }


def write_config(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
