"""Tax rates are Sage's: recon.toml maps tax groups to districts and names liability accounts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from adapters.sage.engine import create_sage_engine
from adapters.sage.sandbox import init_sandbox
from adapters.sage.schema import taxent
from cli.bootstrap import sage_tax_if_reachable, with_sage_tax
from cli.config import ConfigError, default_config, parse_config


def test_a_config_without_districts_maps_groups_and_names_entity_accounts(tmp_path: Path) -> None:
    data = default_config(tmp_path)
    del data["tax"]["districts"]
    data["tax"]["entity_accounts"] = {"10": 2310, "11": 2320}
    data["mapping"]["tax_groups"]["Somewhere"] = 42  # a district only Sage knows of

    mapping = parse_config(data).mapping

    assert mapping.tax_districts == {}
    assert mapping.tax_group_districts["Somewhere"] == 42
    assert mapping.tax_entity_accounts == {10: 2310, 11: 2320}


def test_an_entity_account_needs_an_entity_number(tmp_path: Path) -> None:
    data = default_config(tmp_path)
    data["tax"]["entity_accounts"] = {"ten": 2310}

    with pytest.raises(ConfigError, match=r"tax\.entity_accounts.*the Sage tax entity number"):
        parse_config(data)


def test_the_rates_an_invoice_is_split_at_are_sages(tmp_path: Path) -> None:
    config = parse_config(default_config(tmp_path))
    init_sandbox(config.sage.url, config.mapping, reset=True)  # seeded from [tax.districts]
    engine = create_sage_engine(config.sage.url)
    try:
        with engine.begin() as conn:
            conn.execute(update(taxent).where(taxent.c.recnum == 11).values(taxrt1=Decimal("2.5")))
        mapping = with_sage_tax(config.mapping, engine)
    finally:
        engine.dispose()

    wake = mapping.tax_districts[1]
    assert [entity.rate for entity in wake.entities] == [
        Decimal("4.75"),
        Decimal("2.5"),
        Decimal("0.5"),
    ]
    assert wake.rate == Decimal("7.75")
    assert [entity.account for entity in wake.entities] == [2310, 2320, 2320]
    assert config.mapping.tax_districts[1].rate == Decimal("7.25")  # the seed, no longer used


def test_a_command_that_does_not_read_sage_falls_back_to_the_seed(tmp_path: Path) -> None:
    config = parse_config(default_config(tmp_path))  # no sandbox made: Sage does not answer

    assert sage_tax_if_reachable(config) == config.mapping
