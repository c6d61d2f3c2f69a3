"""recon.toml's schema: defaults, unknown keys, range checks, secrets kept out of errors."""

from __future__ import annotations

import copy
import re
import string
import types
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cli.config import (
    EMBEDDED,
    Config,
    ConfigError,
    ReconToml,
    ServiceTradeSettings,
    default_config,
    load_config,
    parse_config,
    write_config,
)
from domain.mapping import JOB_PER_LOCATION, TaxDistrict, TaxEntity
from domain.policy import Periods, Policy

WORKDIR = Path("/srv/recon")  # only joined into paths; nothing is read or written there
DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

Change = Callable[[dict[str, Any]], object]


def demo() -> dict[str, Any]:
    return default_config(WORKDIR)


def problems(data: dict[str, Any]) -> list[str]:
    """The lines of the ConfigError parse_config raises for data."""
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    return str(error.value).splitlines()


def changed(change: Change) -> dict[str, Any]:
    data = demo()
    change(data)
    return data


def test_the_default_config_parses_into_settings_and_a_mapping() -> None:
    config = parse_config(demo(), Path("recon.toml"))
    assert isinstance(config, Config)
    assert config.path == Path("recon.toml")
    assert config.store_url == f"sqlite:///{WORKDIR / 'recon.db'}"
    assert config.cipher_key is None
    assert config.servicetrade.simulator.state_file == str(WORKDIR / "simulator.json")
    assert config.sage.url == f"sqlite:///{WORKDIR / 'sage.db'}"
    assert config.sage.drop_folder == str(WORKDIR / "sage-drop")
    mapping = config.mapping
    assert mapping.tax_districts[1] == TaxDistrict(
        1,
        "Wake County NC",
        (
            TaxEntity(10, "North Carolina", Decimal("4.75"), 2310),
            TaxEntity(11, "Wake County", Decimal("2.00"), 2320),
            TaxEntity(12, "Wake Transit", Decimal("0.50"), 2320),
        ),
    )
    assert mapping.tax_group_districts["Exempt"] == 9
    assert mapping.cost_codes["labor"] == (Decimal("100.000"), 2)
    assert mapping.default_cost_code == (Decimal("900.000"), 5)
    assert all(type(entity.rate) is Decimal for entity in mapping.tax_districts[9].entities)


def test_the_default_config_round_trips_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    write_config(path, default_config(tmp_path))
    loaded = load_config(path)
    assert loaded.path == path
    assert loaded.mapping == parse_config(default_config(tmp_path)).mapping
    assert loaded.servicetrade == parse_config(default_config(tmp_path)).servicetrade


def test_default_config_returns_a_fresh_dict_each_time() -> None:
    first = demo()
    first["tax"]["districts"]["1"]["entities"][0]["rate"] = "9.99"
    first["servicetrade"]["simulator"]["seed"] = 99
    assert demo()["tax"]["districts"]["1"]["entities"][0]["rate"] == "4.75"
    assert demo()["servicetrade"]["simulator"]["seed"] == 7


MINIMAL = {
    "store": {"url": "sqlite:///recon.db"},
    "sage": {"url": "sqlite:///sage.db"},
    "mapping": {"ar_control_account": 1200, "default_income_account": 4000},
}


def test_a_minimal_config_gets_the_documented_defaults() -> None:
    config = parse_config(copy.deepcopy(MINIMAL))
    assert config.user == "recon"
    assert config.cipher_key is None
    st_ = config.servicetrade
    assert (st_.base_url, st_.auth, st_.client_id, st_.client_secret) == (
        EMBEDDED,
        "oauth2",
        "",
        "",
    )
    assert (st_.username, st_.password, st_.timezone) == ("", "", "America/New_York")
    assert (st_.timeout_seconds, st_.overlap_seconds, st_.writeback) == (30, 300, True)
    sim = st_.simulator
    assert (sim.seed, sim.state_file, sim.scale, sim.start_date) == (7, "", 1, "2026-10-01")
    pl = config.partsledger
    assert (pl.base_url, pl.client_id, pl.client_secret, pl.timeout_seconds) == (
        EMBEDDED,
        "",
        "",
        30,
    )
    sage = config.sage
    assert (sage.app_name, sage.sink, sage.drop_folder) == ("recon", "sql", "")
    m = config.mapping
    assert (m.job_numbering, m.client_number_start, m.job_number_start) == (
        JOB_PER_LOCATION,
        1001,
        5001,
    )
    assert (m.fiscal_year_start_month, m.due_days, m.vendor_number_start) == (1, 30, 2001)
    assert m.ap_control_account is None and m.default_tax_district is None
    assert m.default_cost_code is None
    assert m.tax_districts == {} and m.employees == {} and m.cost_codes == {}


def test_the_demo_writes_the_model_defaults() -> None:
    data = demo()
    defaults = parse_config(copy.deepcopy(MINIMAL))
    assert data["user"] == defaults.user
    for key in ("base_url", "auth", "timezone", "overlap_seconds", "writeback"):
        assert data["servicetrade"][key] == getattr(defaults.servicetrade, key)
    for key in ("seed", "scale", "start_date"):
        assert data["servicetrade"]["simulator"][key] == getattr(
            defaults.servicetrade.simulator, key
        )
    assert data["sage"]["sink"] == defaults.sage.sink
    assert data["mapping"]["due_days"] == defaults.mapping.due_days


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda d: d["sage"].update(sinkk="files"),
            "sage.sinkk: unknown key (expected one of: url, app_name, sink, drop_folder, "
            "current_period, locked_through)",
        ),
        (
            lambda d: d.update(sagee={"sink": "files"}),
            "sagee: unknown section (expected one of: user, store, servicetrade, partsledger, "
            "sage, mapping, tax, policy, relay, sync)",
        ),
        (
            lambda d: d["servicetrade"]["simulator"].update(sead=8),
            "servicetrade.simulator.sead: unknown key (expected one of: seed, state_file, scale, "
            "start_date, pace)",
        ),
        (
            lambda d: d["mapping"]["cost_codes"]["labor"].update(kind=1),
            "mapping.cost_codes.'labor'.kind: unknown key (expected one of: code, type)",
        ),
        (
            lambda d: d["tax"]["districts"]["1"]["entities"][2].update(percent="1"),
            "tax.districts.1.entities[2].percent: unknown key (expected one of: recnum, name, "
            "rate, account)",
        ),
    ],
)
def test_unknown_keys_and_sections_are_errors_naming_the_key(change: Change, line: str) -> None:
    assert problems(changed(change)) == [line]


def test_a_misspelt_sink_no_longer_falls_back_to_writing_sql() -> None:
    data = demo()
    del data["sage"]["sink"]
    data["sage"]["sinkk"] = "files"
    with pytest.raises(ConfigError, match=r"^sage\.sinkk: unknown key"):
        parse_config(data)


RANGE_CHECKS: list[tuple[Change, str]] = [
    (
        lambda d: d["servicetrade"].update(overlap_seconds=-1),
        "servicetrade.overlap_seconds = -1: expected a whole number of seconds, 0 or more",
    ),
    (
        lambda d: d["servicetrade"].update(timeout_seconds=0),
        "servicetrade.timeout_seconds = 0: expected a whole number of seconds above 0",
    ),
    (
        lambda d: d["partsledger"].update(timeout_seconds=-5),
        "partsledger.timeout_seconds = -5: expected a whole number of seconds above 0",
    ),
    (
        lambda d: d["servicetrade"].update(timezone="America/Raleigh"),
        "servicetrade.timezone = 'America/Raleigh': expected an IANA time zone, e.g. "
        "America/New_York",
    ),
    (
        lambda d: d["servicetrade"].update(timezone="../../etc/passwd"),
        "servicetrade.timezone = '../../etc/passwd': expected an IANA time zone, e.g. "
        "America/New_York",
    ),
    (
        lambda d: d["servicetrade"]["simulator"].update(start_date="2026-02-30"),
        "servicetrade.simulator.start_date = '2026-02-30': expected an ISO date, e.g. 2026-10-01",
    ),
    (
        lambda d: d["servicetrade"]["simulator"].update(scale=0),
        "servicetrade.simulator.scale = 0: expected a whole number, 1 or more",
    ),
    (
        lambda d: d["servicetrade"]["simulator"].update(seed="7"),
        "servicetrade.simulator.seed = '7': expected a whole number",
    ),
    (
        lambda d: d["mapping"].update(client_number_start=0),
        "mapping.client_number_start = 0: expected a whole number above 0",
    ),
    (
        lambda d: d["mapping"].update(job_number_start=-1),
        "mapping.job_number_start = -1: expected a whole number above 0",
    ),
    (
        lambda d: d["mapping"].update(vendor_number_start=0),
        "mapping.vendor_number_start = 0: expected a whole number above 0",
    ),
    (
        lambda d: d["mapping"].update(due_days=-1),
        "mapping.due_days = -1: expected a whole number of days, 0 or more",
    ),
    (
        lambda d: d["mapping"].update(fiscal_year_start_month=0),
        "mapping.fiscal_year_start_month = 0: expected 1 to 12",
    ),
    (
        lambda d: d["mapping"].update(fiscal_year_start_month=13),
        "mapping.fiscal_year_start_month = 13: expected 1 to 12",
    ),
    (
        lambda d: d["mapping"]["pay_types"].update({"Regular Labor": 10}),
        "mapping.pay_types.'Regular Labor' = 10: expected a Sage pay type 1-9",
    ),
    (
        lambda d: d["mapping"]["pay_types"].update({"Regular Labor": 0}),
        "mapping.pay_types.'Regular Labor' = 0: expected a Sage pay type 1-9",
    ),
    (
        lambda d: d["mapping"]["cost_codes"]["part"].update(type=10),
        "mapping.cost_codes.'part'.type = 10: expected a Sage cost type 1-9",
    ),
    (
        lambda d: d["mapping"]["default_cost_code"].update(type=0),
        "mapping.default_cost_code.type = 0: expected a Sage cost type 1-9",
    ),
    (
        lambda d: d["tax"]["districts"]["2"]["entities"][1].update(rate="-0.25"),
        "tax.districts.2.entities[1].rate = '-0.25': expected a decimal of 0 or more, "
        'e.g. "4.75"',
    ),
    (
        lambda d: d["tax"]["districts"]["2"]["entities"][1].update(rate="two"),
        "tax.districts.2.entities[1].rate = 'two': expected a decimal in quotes, e.g. \"4.75\"",
    ),
    (
        lambda d: d["tax"]["districts"]["2"]["entities"][1].update(rate="NaN"),
        "tax.districts.2.entities[1].rate = 'NaN': expected a decimal in quotes, e.g. \"4.75\"",
    ),
    (
        lambda d: d["mapping"]["cost_codes"]["labor"].update(code="1,100"),
        "mapping.cost_codes.'labor'.code = '1,100': expected a decimal in quotes, e.g. \"1.100\"",
    ),
    (
        lambda d: d["tax"]["districts"]["9"].update(entities=[]),
        "tax.districts.9.entities: expected 1 to 5 tax entities (Sage's limit)",
    ),
    (
        lambda d: d["tax"]["districts"]["1"]["entities"].extend(
            d["tax"]["districts"]["2"]["entities"]
        ),
        "tax.districts.1.entities: expected 1 to 5 tax entities (Sage's limit)",
    ),
    (
        lambda d: d["tax"]["districts"].update({"one": d["tax"]["districts"]["1"]}),
        "tax.districts.'one': expected the Sage district number as the table name",
    ),
    (
        lambda d: d["mapping"]["tax_groups"].update({"Wake County NC": 7}),
        "mapping.tax_groups.'Wake County NC' = 7: expected the number of a district defined "
        "under [tax.districts]",
    ),
    (
        lambda d: d["mapping"].update(default_tax_district=5),
        "mapping.default_tax_district = 5: expected a district defined under [tax.districts]",
    ),
    (
        lambda d: d["sage"].update(sink="ftp"),
        "sage.sink = 'ftp': expected one of sql, files",
    ),
    (
        lambda d: d["sage"].update(sink="files", drop_folder=""),
        'sage.drop_folder is missing: the files sink needs a folder, e.g. "/srv/sage-drop"',
    ),
    (
        lambda d: d["servicetrade"].update(auth="basic"),
        "servicetrade.auth = 'basic': expected one of oauth2, session",
    ),
    (
        lambda d: d["mapping"].update(job_numbering="per_site"),
        "mapping.job_numbering = 'per_site': expected one of per_location, per_job",
    ),
    (
        lambda d: d["servicetrade"].update(
            base_url="https://api.servicetrade.com/api", client_secret="s"
        ),
        "servicetrade.client_id is missing: expected a text string (auth oauth2 needs client_id "
        "and client_secret)",
    ),
    (
        lambda d: d["servicetrade"].update(
            base_url="https://api.servicetrade.com/api", auth="session", username="ops"
        ),
        "servicetrade.password is missing: expected a text string (auth session needs username "
        "and password)",
    ),
    (
        lambda d: d["partsledger"].update(base_url="https://pl.example", client_id="recon"),
        "partsledger.client_secret is missing: expected a text string (a base_url other than "
        "embedded needs client_id and client_secret)",
    ),
    (
        lambda d: d["store"].update(url="mysql://x"),
        "store.url 'mysql://x': expected sqlite:///path/to/recon.db or "
        "postgresql://user:password@host:port/database",
    ),
    (
        lambda d: d["sage"].update(url="odbc://x"),
        "sage.url 'odbc://x': expected mssql+pyodbc://user:password@host\\SAGE100CON/"
        "Company?driver=ODBC+Driver+18+for+SQL+Server or sqlite:///sage.db (a sandbox)",
    ),
    (lambda d: d.pop("store"), "store is missing: expected a table"),
    (
        lambda d: d["mapping"].pop("ar_control_account"),
        "mapping.ar_control_account is missing: expected a whole number",
    ),
    (
        lambda d: d["tax"]["districts"]["4"]["entities"][0].pop("rate"),
        'tax.districts.4.entities[0].rate is missing: expected a decimal in quotes, e.g. "4.75"',
    ),
    (
        lambda d: d["mapping"]["cost_codes"].update(fee="300"),
        "mapping.cost_codes.'fee' = '300': expected {code = \"1.100\", type = 1} (cost code in "
        "quotes, Sage cost type 1-9)",
    ),
]


@pytest.mark.parametrize(("change", "line"), RANGE_CHECKS)
def test_each_check_names_the_key_and_what_was_expected(change: Change, line: str) -> None:
    assert problems(changed(change)) == [line]


@pytest.mark.parametrize(
    ("where", "key"),
    [
        (("servicetrade",), "timeout_seconds"),
        (("servicetrade", "simulator"), "seed"),
        (("servicetrade", "simulator"), "scale"),
        (("mapping",), "due_days"),
        (("mapping",), "ar_control_account"),
        (("mapping", "pay_types"), "Regular Labor"),
        (("mapping", "employees"), "Ana"),
        (("mapping", "tax_groups"), "Exempt"),
        (("mapping", "cost_codes", "labor"), "type"),
    ],
)
def test_a_boolean_is_not_a_whole_number(where: tuple[str, ...], key: str) -> None:
    data = demo()
    table = data
    for part in where:
        table = table[part]
    table[key] = True
    [line] = problems(data)
    assert line.startswith(f"{where[0]}.") and " = true: expected " in line
    assert "whole number" in line or "1-9" in line


def test_a_number_is_not_a_boolean_nor_text() -> None:
    data = demo()
    data["servicetrade"]["writeback"] = 1
    data["user"] = 5
    assert problems(data) == [
        "user = 5: expected a text string",
        "servicetrade.writeback = 1: expected true or false",
    ]


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda d: d["tax"]["districts"]["1"]["entities"][0].update(rate=4.75),
            "tax.districts.1.entities[0].rate = 4.75: expected a text string: write the decimal "
            'in quotes, "4.75" (a TOML float is not exact)',
        ),
        (
            lambda d: d["tax"]["districts"]["1"]["entities"][0].update(rate=0.1),
            "tax.districts.1.entities[0].rate = 0.1: expected a text string: write the decimal "
            'in quotes, "0.1" (a TOML float is not exact)',
        ),
        (
            lambda d: d["mapping"]["cost_codes"]["labor"].update(code=100.0),
            "mapping.cost_codes.'labor'.code = 100.0: expected a text string: write the decimal "
            'in quotes, "100.0" (a TOML float is not exact)',
        ),
    ],
)
def test_a_float_rate_or_cost_code_is_refused_and_told_to_quote_it(
    change: Change, line: str
) -> None:
    assert problems(changed(change)) == [line]


def test_rates_and_cost_codes_stay_exact_decimals() -> None:
    data = demo()
    data["tax"]["districts"]["1"]["entities"][0]["rate"] = "4.750"
    data["mapping"]["cost_codes"]["labor"]["code"] = "1.100"
    mapping = parse_config(data).mapping
    rate = mapping.tax_districts[1].entities[0].rate
    assert type(rate) is Decimal and str(rate) == "4.750"
    assert mapping.cost_codes["labor"] == (Decimal("1.100"), 2)


def test_start_date_may_be_a_toml_date() -> None:
    data = demo()
    data["servicetrade"]["simulator"]["start_date"] = date(2026, 11, 1)
    assert parse_config(data).servicetrade.simulator.start_date == "2026-11-01"


def test_every_problem_is_listed_one_per_line_in_file_order() -> None:
    data = demo()
    data["servicetrade"]["timeout_seconds"] = 0
    data["sage"]["sinkk"] = "files"
    data["mapping"]["due_days"] = -3
    assert problems(data) == [
        "servicetrade.timeout_seconds = 0: expected a whole number of seconds above 0",
        "sage.sinkk: unknown key (expected one of: url, app_name, sink, drop_folder, "
        "current_period, locked_through)",
        "mapping.due_days = -3: expected a whole number of days, 0 or more",
    ]


def test_the_error_carries_nothing_of_pydantic() -> None:
    data = demo()
    data["servicetrade"]["password"] = 12345
    data["mapping"]["due_days"] = "thirty"
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    message = str(error.value)
    assert "input_value" not in message and "pydantic" not in message
    assert "12345" not in message
    # Not even chained: a traceback of the ConfigError must not print pydantic's text.
    assert error.value.__cause__ is None and error.value.__context__ is None


def test_not_a_table_at_all() -> None:
    assert problems([]) == ["recon.toml: expected a table"]  # type: ignore[arg-type]


def test_settings_are_read_only_models_with_the_same_attributes() -> None:
    settings_ = ServiceTradeSettings(base_url="https://x.example", client_id="a", client_secret="b")
    assert settings_.simulator.seed == 7
    with pytest.raises(ValidationError):
        settings_.timeout_seconds = 5
    assert "client_secret" not in repr(settings_) and "'b'" not in repr(settings_)


def test_load_config_keeps_its_messages_for_a_missing_or_broken_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(missing)
    broken = tmp_path / "recon.toml"
    broken.write_text("[store\nurl = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(broken))}: not valid TOML: "):
        load_config(broken)


def test_load_config_reports_the_key_of_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    data = default_config(tmp_path)
    data["sage"]["sinkk"] = "files"
    write_config(path, data)
    with pytest.raises(ConfigError, match=r"^sage\.sinkk: unknown key"):
        load_config(path)


# Secrets: drawn from characters repr() leaves alone, so a leak shows up as the plain text.
SECRETS = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%*+-.=?^_~;&{}", min_size=8, max_size=24
).map(lambda text: f"pw{text}#9~")  # the tail keeps even its cut form out of any message

# Where a secret goes, and whether the error is about a URL holding it (shown with ***).
PLACES: dict[str, tuple[bool, Callable[[dict[str, Any], str], object]]] = {
    "store url without host": (
        True,
        lambda d, s: d["store"].update(url=f"postgresql://recon:{s}@/db"),
    ),
    "store url bad scheme": (True, lambda d, s: d["store"].update(url=f"mysql://r:{s}@db/r")),
    "store url no scheme": (True, lambda d, s: d["store"].update(url=f"recon:{s}@db/recon")),
    "store url and a number for cipher_key": (
        True,
        lambda d, s: d["store"].update(url=f"x://u:{s}@h", cipher_key=5),
    ),
    "sage url bad scheme": (True, lambda d, s: d["sage"].update(url=f"odbc://sa:{s}@host/Co")),
    "sage odbc_connect": (
        True,
        lambda d, s: d["sage"].update(url=f"odbc:///?odbc_connect=DRIVER=x;PWD={s}"),
    ),
    "sage odbc_connect encoded": (
        True,
        lambda d, s: d["sage"].update(url=f"odbc:///?odbc_connect=DRIVER%3Dx%3BPWD%3D{s}"),
    ),
    "sage odbc_connect with a colon and an @": (
        True,
        lambda d, s: d["sage"].update(url=f"odbc:///?odbc_connect=SERVER=tcp:h;PWD={s}@x"),
    ),
    "sage url fine, sink not": (
        False,
        lambda d, s: d["sage"].update(
            url=f"mssql+pyodbc://sa:{s}@host\\SAGE100CON/Co?driver=x", sink="ftp"
        ),
    ),
    "password without username": (
        False,
        lambda d, s: d["servicetrade"].update(
            base_url="https://x.example", auth="session", password=s
        ),
    ),
    "password not text": (False, lambda d, s: d["servicetrade"].update(password=[s])),
    "client_secret a table": (
        False,
        lambda d, s: d["servicetrade"].update(client_secret={"v": s}),
    ),
    "partsledger secret without id": (
        False,
        lambda d, s: d["partsledger"].update(base_url="https://pl.example", client_secret=s),
    ),
    "cipher_key not text": (False, lambda d, s: d["store"].update(cipher_key=[s])),
    "cipher_key beside a bad url": (
        False,
        lambda d, s: d["store"].update(url="mysql://x", cipher_key=s),
    ),
    "misspelt password": (False, lambda d, s: d["servicetrade"].update(passwrd=s)),
    "unknown section": (False, lambda d, s: d.update(secrets={"password": s})),
    "secret beside a bad value": (
        False,
        lambda d, s: d["servicetrade"].update(password=s, timeout_seconds=0),
    ),
}


@settings(max_examples=60, deadline=None)
@given(secret=SECRETS, place=st.sampled_from(sorted(PLACES)))
def test_a_secret_never_appears_in_an_error(secret: str, place: str) -> None:
    in_url, put = PLACES[place]
    data = demo()
    put(data, secret)
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    message = str(error.value)
    assert message
    assert secret not in message
    assert secret[2:] not in message  # nor with its first characters cut off by a parser
    assert ("***" in message) == in_url


def _documented_keys() -> set[str]:
    rows = re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    return {row.strip("[]") for row in rows}


def _bare(kind: Any) -> Any:
    """The type under Annotated[...] and X | None."""
    while get_origin(kind) in (Annotated, Union, types.UnionType):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    return kind


def _schema_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        keys.add(key)
        kind = _bare(info.annotation)
        if get_origin(kind) is list:
            kind, key = _bare(get_args(kind)[0]), f"{key}[*]"
        elif get_origin(kind) is dict:
            kind, key = _bare(get_args(kind)[1]), f"{key}.*"
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= _schema_keys(kind, f"{key}.")
    return keys


def test_the_reference_table_documents_every_key_and_no_other() -> None:
    assert _documented_keys() == _schema_keys(ReconToml)


def test_the_policy_and_sage_periods_default_to_creations_only_and_nothing_locked() -> None:
    config = parse_config(copy.deepcopy(MINIMAL))
    assert config.policy == Policy(frozenset({"create"}), None)
    assert config.periods == Periods(None, None)
    assert demo()["policy"] == {"unattended": ["create"]}


def test_the_policy_and_sage_periods_reach_the_domain() -> None:
    data = demo()
    data["sage"].update(current_period="2026-11", locked_through="2026-09")
    data["policy"] = {"unattended": ["create", "update"], "max_amount": "5000.00"}
    config = parse_config(data)
    assert config.periods == Periods("2026-11", "2026-09")
    assert config.policy == Policy(frozenset({"create", "update"}), Decimal("5000.00"))


PERIOD_AND_POLICY_CHECKS: list[tuple[Change, str]] = [
    (
        lambda d: d["sage"].update(current_period="2026-13"),
        "sage.current_period = '2026-13': expected a period YYYY-MM, e.g. 2026-10",
    ),
    (
        lambda d: d["sage"].update(locked_through=202609),
        "sage.locked_through = 202609: expected a period YYYY-MM, e.g. 2026-10",
    ),
    (
        lambda d: d["sage"].update(current_period="2026-10", locked_through="2026-10"),
        "sage.locked_through = '2026-10': expected a period before sage.current_period 2026-10 "
        "(Sage never locks the current period)",
    ),
    (
        lambda d: d["policy"].update(unattended=["create", "delete"]),
        "policy.unattended[1] = 'delete': expected one of create, replace, update, void",
    ),
    (
        lambda d: d["policy"].update(max_amount=5000.0),
        "policy.max_amount = 5000.0: expected a text string: write the decimal in quotes, "
        '"5000.0" (a TOML float is not exact)',
    ),
    (
        lambda d: d["policy"].update(max_amount="-1"),
        "policy.max_amount = '-1': expected a decimal of 0 or more, e.g. \"5000.00\"",
    ),
    (
        lambda d: d["policy"].update(approver="ana"),
        "policy.approver: unknown key (expected one of: unattended, max_amount)",
    ),
]


@pytest.mark.parametrize(("change", "line"), PERIOD_AND_POLICY_CHECKS)
def test_periods_and_the_policy_are_checked_at_start(change: Change, line: str) -> None:
    assert problems(changed(change)) == [line]
