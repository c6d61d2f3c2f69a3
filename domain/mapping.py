"""Mapping rules from source records to Sage: accounts, tax districts, numbering, periods."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

JOB_PER_LOCATION = "per_location"
JOB_PER_JOB = "per_job"


class MappingError(ValueError):
    """A source value the mapping does not cover; the message says what and where to map it."""


@dataclass(frozen=True, slots=True)
class TaxEntity:
    """A Sage tax entity (``taxent``): one authority's rate, in percent."""

    recnum: int
    name: str
    rate: Decimal  # percent, e.g. Decimal("4.75")
    account: int  # sales tax payable ledger account for this entity


@dataclass(frozen=True, slots=True)
class TaxDistrict:
    """A Sage tax district (``taxdst``): up to five entities whose taxes are summed."""

    recnum: int
    name: str
    entities: tuple[TaxEntity, ...]

    @property
    def rate(self) -> Decimal:
        """The district's rate in percent: its entities' rates summed, as Sage applies them."""
        return sum((entity.rate for entity in self.entities), Decimal(0))


@dataclass(frozen=True, slots=True)
class Mapping:
    """Everything recon needs to turn source records into the rows Sage should hold."""

    ar_control_account: int
    default_income_account: int
    income_accounts: dict[str, int] = field(default_factory=dict)  # item type -> account
    #: Sage's districts and entities (``taxdst``/``taxent``): the composition root reads them
    #: from Sage; recon.toml's ``[tax.districts]`` only seeds a sandbox.
    tax_districts: dict[int, TaxDistrict] = field(default_factory=dict)
    tax_group_districts: dict[str, int] = field(default_factory=dict)  # ST tax group -> district
    #: Sales-tax liability account per Sage tax entity (entity number -> account): Sage holds
    #: the rates, recon.toml the accounts (read with the districts; see ``tax_districts``).
    tax_entity_accounts: dict[int, int] = field(default_factory=dict)
    default_tax_district: int | None = None
    job_numbering: str = JOB_PER_LOCATION
    client_number_start: int = 1001
    job_number_start: int = 5001
    fiscal_year_start_month: int = 1
    due_days: int = 30
    ap_control_account: int | None = None
    inventory_account: int | None = None
    direct_expense_account: int | None = None  # job cost: parts used and direct purchases
    freight_account: int | None = None
    purchase_tax_account: int | None = None
    vendor_number_start: int = 2001
    employees: dict[str, int] = field(default_factory=dict)  # technician id or name -> employee
    pay_types: dict[str, int] = field(default_factory=dict)  # labor item name or code -> 1-9
    #: "service line/item type" or "item type" -> (cost code, cost type); item type "purchase"
    #: is what PartsLedger direct purchases are costed under.
    cost_codes: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    default_cost_code: tuple[Decimal, int] | None = None

    def account(self, name: str) -> int:
        """A ledger account the mapping must name, e.g. ``inventory_account``."""
        value = getattr(self, name)
        if value is None:
            raise MappingError(f"mapping.{name} is not set: add the Sage ledger account number")
        return int(value)

    def employee_for(self, technician_id: str, technician_name: str) -> int:
        for key in (technician_id, technician_name):
            if key and key in self.employees:
                return self.employees[key]
        who = f"{technician_name} ({technician_id})" if technician_name else technician_id
        raise MappingError(
            f"ServiceTrade technician {who} has no Sage employee; add it under "
            "[mapping.employees] by name or id"
        )

    def pay_type_for(self, item_name: str, item_code: str) -> int:
        for key in (item_name, item_code):
            if key and key in self.pay_types:
                return self.pay_types[key]
        raise MappingError(
            f"ServiceTrade labor item {item_name or item_code!r} has no Sage pay type; add it "
            "under [mapping.pay_types] (1 Regular, 2 Overtime, 3 Premium, ...)"
        )

    def cost_code_for(self, item_type: str, service_line: str = "") -> tuple[Decimal, int]:
        for key in (f"{service_line}/{item_type}" if service_line else "", item_type):
            if key and key in self.cost_codes:
                return self.cost_codes[key]
        if self.default_cost_code is not None:
            return self.default_cost_code
        raise MappingError(
            f"item type {item_type!r} (service line {service_line or 'none'}) has no Sage cost "
            "code; add it under [mapping.cost_codes] or set mapping.default_cost_code"
        )

    def income_account(self, item_type: str) -> int:
        return self.income_accounts.get(item_type, self.default_income_account)

    def district_for(self, tax_group: str) -> TaxDistrict | None:
        """The district a location's tax group maps to; unmapped groups are a MappingError."""
        recnum = self.tax_group_districts.get(tax_group) if tax_group else None
        if recnum is None:
            if tax_group and self.default_tax_district is None:
                raise MappingError(
                    f"ServiceTrade tax group {tax_group!r} has no Sage tax district; "
                    "add it under [mapping.tax_groups] in recon.toml"
                )
            recnum = self.default_tax_district
        if recnum is None:
            return None
        try:
            return self.tax_districts[recnum]
        except KeyError as exc:
            raise MappingError(
                f"Sage has no tax district {recnum} (taxdst); map the tax group to a district "
                "Sage holds under [mapping.tax_groups] in recon.toml"
            ) from exc

    def period_of(self, day: date) -> tuple[int, int]:
        """(posting year, period 1-12) of a business date under the company's fiscal year."""
        start = self.fiscal_year_start_month
        period = (day.month - start) % 12 + 1
        year = day.year if start == 1 or day.month < start else day.year + 1
        return year, period

    def fingerprint(self) -> str:
        """A stable text that changes whenever the mapping changes (projections rebuild on it)."""
        return repr(self)
