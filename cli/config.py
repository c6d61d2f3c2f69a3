"""recon.toml: reading, validating (every error names the key and the form expected), writing."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from adapters.store import StoreConfigError, store_env
from domain.mapping import JOB_PER_JOB, JOB_PER_LOCATION, Mapping, TaxDistrict, TaxEntity
from domain.money import MoneyError, money

EMBEDDED = "embedded"
AUTH_MODES = ("oauth2", "session")
SINKS = ("sql", "files")


class ConfigError(ValueError):
    """A configuration value recon cannot use."""


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    seed: int = 7
    state_file: str = ""
    scale: int = 1
    start_date: str = "2026-10-01"


@dataclass(frozen=True, slots=True)
class ServiceTradeSettings:
    base_url: str = EMBEDDED
    auth: str = "oauth2"
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    password: str = ""
    timezone: str = "America/New_York"
    timeout_seconds: int = 30
    overlap_seconds: int = 300
    writeback: bool = True
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)


@dataclass(frozen=True, slots=True)
class PartsLedgerSettings:
    base_url: str = EMBEDDED
    client_id: str = ""
    client_secret: str = ""
    timeout_seconds: int = 30


@dataclass(frozen=True, slots=True)
class SageSettings:
    url: str
    app_name: str = "recon"
    sink: str = "sql"  # sql: write as the Sage windows do; files: import batches
    drop_folder: str = ""  # where the files sink writes its batches


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    store_url: str
    cipher_key: str | None
    servicetrade: ServiceTradeSettings
    partsledger: PartsLedgerSettings
    sage: SageSettings
    mapping: Mapping
    user: str = "recon"


def _get(table: dict[str, Any], key: str, dotted: str, kind: type, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{dotted} is missing: expected {_describe(kind)}")
        return default
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{dotted} = {value!r}: expected {_describe(kind)}")
    if kind is not int and not isinstance(value, kind):
        raise ConfigError(f"{dotted} = {value!r}: expected {_describe(kind)}")
    return value


def _describe(kind: type) -> str:
    return {int: "a whole number", str: "a text string", bool: "true or false", dict: "a table"}[
        kind
    ]


def _choice(value: str, dotted: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{dotted} = {value!r}: expected one of {', '.join(choices)}")
    return value


def _decimal(value: Any, dotted: str) -> Decimal:
    try:
        return money(value)
    except MoneyError as exc:
        raise ConfigError(
            f'{dotted} = {value!r}: expected a decimal in quotes, e.g. "4.75"'
        ) from exc


def _numbers(m: dict[str, Any], name: str) -> dict[str, int]:
    table = _get(m, name, f"mapping.{name}", dict, {})
    return {key: _get(table, key, f"mapping.{name}.{key!r}", int) for key in table}


def _pay_types(m: dict[str, Any]) -> dict[str, int]:
    result = _numbers(m, "pay_types")
    for key, value in result.items():
        if not 1 <= value <= 9:
            raise ConfigError(f"mapping.pay_types.{key!r} = {value}: expected a Sage pay type 1-9")
    return result


def _cost_code(value: Any, where: str) -> tuple[Decimal, int]:
    if not isinstance(value, dict) or "code" not in value or "type" not in value:
        raise ConfigError(f'{where}: expected {{code = "1.100", type = 1}} (cost code, cost type)')
    code = _decimal(_get(value, "code", f"{where}.code", str), f"{where}.code")
    kind = _get(value, "type", f"{where}.type", int)
    if not 1 <= kind <= 9:
        raise ConfigError(f"{where}.type = {kind}: expected a Sage cost type 1-9")
    return code, kind


def _mapping(data: dict[str, Any]) -> Mapping:
    m = _get(data, "mapping", "mapping", dict, {})
    tax = _get(data, "tax", "tax", dict, {})
    districts: dict[int, TaxDistrict] = {}
    for name, district in _get(tax, "districts", "tax.districts", dict, {}).items():
        where = f"tax.districts.{name}"
        if not name.isdigit():
            raise ConfigError(f"{where}: expected the Sage district number as the table name")
        if not isinstance(district, dict):
            raise ConfigError(f"{where}: expected a table with name and entities")
        entities = []
        raw_entities = _get(district, "entities", f"{where}.entities", list)
        if not 1 <= len(raw_entities) <= 5:
            raise ConfigError(f"{where}.entities: expected 1 to 5 tax entities (Sage's limit)")
        for i, entity in enumerate(raw_entities):
            at = f"{where}.entities[{i}]"
            if not isinstance(entity, dict):
                raise ConfigError(f"{at}: expected {{recnum, name, rate, account}}")
            entities.append(
                TaxEntity(
                    recnum=_get(entity, "recnum", f"{at}.recnum", int),
                    name=_get(entity, "name", f"{at}.name", str),
                    rate=_decimal(_get(entity, "rate", f"{at}.rate", str), f"{at}.rate"),
                    account=_get(entity, "account", f"{at}.account", int),
                )
            )
        districts[int(name)] = TaxDistrict(
            int(name), _get(district, "name", f"{where}.name", str), tuple(entities)
        )
    groups = {}
    for group, number in _get(m, "tax_groups", "mapping.tax_groups", dict, {}).items():
        if isinstance(number, bool) or not isinstance(number, int) or number not in districts:
            raise ConfigError(
                f"mapping.tax_groups.{group!r} = {number!r}: expected the number of a district "
                "defined under [tax.districts]"
            )
        groups[group] = number
    income = {}
    for item_type, account in _get(
        m, "income_accounts", "mapping.income_accounts", dict, {}
    ).items():
        income[item_type] = _get({"a": account}, "a", f"mapping.income_accounts.{item_type}", int)
    default_district = _get(m, "default_tax_district", "mapping.default_tax_district", int, None)
    if default_district is not None and default_district not in districts:
        raise ConfigError(
            f"mapping.default_tax_district = {default_district}: expected a district defined "
            "under [tax.districts]"
        )
    month = _get(m, "fiscal_year_start_month", "mapping.fiscal_year_start_month", int, 1)
    if not 1 <= month <= 12:
        raise ConfigError(f"mapping.fiscal_year_start_month = {month}: expected 1 to 12")
    return Mapping(
        ar_control_account=_get(m, "ar_control_account", "mapping.ar_control_account", int),
        default_income_account=_get(
            m, "default_income_account", "mapping.default_income_account", int
        ),
        income_accounts=income,
        tax_districts=districts,
        tax_group_districts=groups,
        default_tax_district=default_district,
        job_numbering=_choice(
            _get(m, "job_numbering", "mapping.job_numbering", str, JOB_PER_LOCATION),
            "mapping.job_numbering",
            (JOB_PER_LOCATION, JOB_PER_JOB),
        ),
        client_number_start=_get(
            m, "client_number_start", "mapping.client_number_start", int, 1001
        ),
        job_number_start=_get(m, "job_number_start", "mapping.job_number_start", int, 5001),
        fiscal_year_start_month=month,
        due_days=_get(m, "due_days", "mapping.due_days", int, 30),
        **{
            name: _get(m, name, f"mapping.{name}", int, None)
            for name in (
                "ap_control_account",
                "inventory_account",
                "direct_expense_account",
                "freight_account",
                "purchase_tax_account",
            )
        },
        vendor_number_start=_get(
            m, "vendor_number_start", "mapping.vendor_number_start", int, 2001
        ),
        employees=_numbers(m, "employees"),
        pay_types=_pay_types(m),
        cost_codes={
            key: _cost_code(value, f"mapping.cost_codes.{key}")
            for key, value in _get(m, "cost_codes", "mapping.cost_codes", dict, {}).items()
        },
        default_cost_code=(
            None
            if "default_cost_code" not in m
            else _cost_code(m["default_cost_code"], "mapping.default_cost_code")
        ),
    )


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    store = _get(data, "store", "store", dict)
    st = _get(data, "servicetrade", "servicetrade", dict, {})
    sim = _get(st, "simulator", "servicetrade.simulator", dict, {})
    sage = _get(data, "sage", "sage", dict)
    auth = _choice(
        _get(st, "auth", "servicetrade.auth", str, "oauth2"), "servicetrade.auth", AUTH_MODES
    )
    settings = ServiceTradeSettings(
        base_url=_get(st, "base_url", "servicetrade.base_url", str, EMBEDDED),
        auth=auth,
        client_id=_get(st, "client_id", "servicetrade.client_id", str, ""),
        client_secret=_get(st, "client_secret", "servicetrade.client_secret", str, ""),
        username=_get(st, "username", "servicetrade.username", str, ""),
        password=_get(st, "password", "servicetrade.password", str, ""),
        timezone=_get(st, "timezone", "servicetrade.timezone", str, "America/New_York"),
        timeout_seconds=_get(st, "timeout_seconds", "servicetrade.timeout_seconds", int, 30),
        overlap_seconds=_get(st, "overlap_seconds", "servicetrade.overlap_seconds", int, 300),
        writeback=_get(st, "writeback", "servicetrade.writeback", bool, True),
        simulator=SimulatorSettings(
            seed=_get(sim, "seed", "servicetrade.simulator.seed", int, 7),
            state_file=_get(sim, "state_file", "servicetrade.simulator.state_file", str, ""),
            scale=_get(sim, "scale", "servicetrade.simulator.scale", int, 1),
            start_date=_get(
                sim, "start_date", "servicetrade.simulator.start_date", str, "2026-10-01"
            ),
        ),
    )
    if settings.base_url != EMBEDDED:
        needed = ("client_id", "client_secret") if auth == "oauth2" else ("username", "password")
        for key in needed:
            if not getattr(settings, key):
                raise ConfigError(f"servicetrade.{key} is missing: expected a text string ({auth})")
    store_url = _get(store, "url", "store.url", str)
    try:
        store_env(store_url)
    except StoreConfigError as exc:
        raise ConfigError(str(exc)) from exc
    sage_url = _get(sage, "url", "sage.url", str)
    if not sage_url.startswith(("sqlite:", "mssql+pyodbc:")):
        raise ConfigError(
            f"sage.url {sage_url!r}: expected mssql+pyodbc://user:password@host\\SAGE100CON/"
            "Company?driver=ODBC+Driver+18+for+SQL+Server or sqlite:///sage.db (a sandbox)"
        )
    sink = _choice(_get(sage, "sink", "sage.sink", str, "sql"), "sage.sink", SINKS)
    drop_folder = _get(sage, "drop_folder", "sage.drop_folder", str, "")
    if sink == "files" and not drop_folder:
        raise ConfigError(
            'sage.drop_folder is missing: the files sink needs a folder, e.g. "/srv/sage-drop"'
        )
    pl = _get(data, "partsledger", "partsledger", dict, {})
    partsledger = PartsLedgerSettings(
        base_url=_get(pl, "base_url", "partsledger.base_url", str, EMBEDDED),
        client_id=_get(pl, "client_id", "partsledger.client_id", str, ""),
        client_secret=_get(pl, "client_secret", "partsledger.client_secret", str, ""),
        timeout_seconds=_get(pl, "timeout_seconds", "partsledger.timeout_seconds", int, 30),
    )
    if partsledger.base_url != EMBEDDED:
        for key in ("client_id", "client_secret"):
            if not getattr(partsledger, key):
                raise ConfigError(f"partsledger.{key} is missing: expected a text string")
    return Config(
        path=path,
        partsledger=partsledger,
        store_url=store_url,
        cipher_key=_get(store, "cipher_key", "store.cipher_key", str, None),
        servicetrade=settings,
        sage=SageSettings(
            url=sage_url,
            app_name=_get(sage, "app_name", "sage.app_name", str, "recon"),
            sink=sink,
            drop_folder=drop_folder,
        ),
        mapping=_mapping(data),
        user=_get(data, "user", "user", str, "recon"),
    )


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


def default_config(workdir: Path) -> dict[str, Any]:
    """The embedded defaults: simulator, Sage sandbox and SQLite store under one folder.

    The chart of accounts and tax districts match what ``recon sandbox init`` seeds.
    """
    workdir = workdir.resolve()
    return {
        "user": "recon",
        "store": {"url": f"sqlite:///{workdir / 'recon.db'}"},
        "servicetrade": {
            "base_url": EMBEDDED,
            "auth": "oauth2",
            "timezone": "America/New_York",
            "overlap_seconds": 300,
            "writeback": True,
            "simulator": {
                "seed": 7,
                "state_file": str(workdir / "simulator.json"),
                "scale": 1,
                "start_date": "2026-10-01",
            },
        },
        "partsledger": {"base_url": EMBEDDED},
        "sage": {
            "url": f"sqlite:///{workdir / 'sage.db'}",
            "app_name": "recon",
            "sink": "sql",
            "drop_folder": str(workdir / "sage-drop"),
        },
        "mapping": {
            "ar_control_account": 1200,
            "default_income_account": 4000,
            "job_numbering": JOB_PER_LOCATION,
            "client_number_start": 1001,
            "job_number_start": 5001,
            "fiscal_year_start_month": 1,
            "due_days": 30,
            "ap_control_account": 2000,
            "inventory_account": 1300,
            "direct_expense_account": 5000,
            "freight_account": 5100,
            "purchase_tax_account": 5000,
            "vendor_number_start": 2001,
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
