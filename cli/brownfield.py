"""The brownfield company for `recon sandbox init --brownfield` and `recon demo --brownfield`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.sage.brownfield import (
    Brownfield,
    BrownfieldHistory,
    HandKeyedCustomer,
    HandKeyedInvoice,
    HandKeyedLine,
    init_brownfield,
)
from cli.config import EMBEDDED, Config
from domain.builders import POSTED_INVOICE_TYPE
from domain.mapping import JOB_PER_LOCATION, Mapping
from domain.money import cents
from domain.source import ACCOUNTABLE_INVOICE_STATUSES

if TYPE_CHECKING:
    from simulator.model import Invoice, World

#: Shares of the simulator's world the office keyed in by hand before recon existed: of the
#: customers with an invoice handed to accounting, and of those customers' invoices.
CUSTOMER_SHARE = Decimal("0.3")
INVOICE_SHARE = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class HandKeyed:
    """What the office keyed in by hand, and the day the brownfield company is made on."""

    history: BrownfieldHistory
    today: date


def _local_day(world: World, moment: int) -> date:
    return datetime.fromtimestamp(moment, UTC).astimezone(ZoneInfo(world.timezone)).date()


def _share(count: int, share: Decimal) -> int:
    return min(count, max(1, int(count * share + Decimal("0.5")))) if count else 0


def hand_keyed(
    world: World,
    mapping: Mapping,
    *,
    seed: int,
    customer_share: Decimal = CUSTOMER_SHARE,
    invoice_share: Decimal = INVOICE_SHARE,
) -> HandKeyed:
    """A sample of the world's customers and of their invoices handed to accounting, as the
    office keyed them into Sage, and ``today``: the last day the world has simulated (in its
    month, on or after every invoice).

    Only invoices of the type recon posts to 3-2 are sampled (the office does not key vendor
    bills or external invoices into receivables). Each location's tax group becomes a Sage
    district through ``mapping.district_for`` (an unmapped group raises ``MappingError``).
    """
    from simulator.render import invoice_totals

    rng = random.Random(seed)
    handed: dict[int, list[Invoice]] = {}
    for invoice in sorted(world.invoices.values(), key=lambda i: i.id):
        if invoice.status in ACCOUNTABLE_INVOICE_STATUSES and invoice.type == POSTED_INVOICE_TYPE:
            handed.setdefault(invoice.customer_id, []).append(invoice)
    names: set[str] = set()
    candidates = []
    for company_id in sorted(handed):
        name = world.companies[company_id].name
        if name not in names:  # the office cannot key two clients of one name apart
            names.add(name)
            candidates.append(company_id)
    chosen = sorted(rng.sample(candidates, _share(len(candidates), customer_share)))

    def district(location_id: int) -> int | None:
        location = world.locations[location_id]
        group = world.tax_groups.get(location.tax_group_id or 0)
        found = mapping.district_for(group.name if group is not None else "")
        return None if found is None else found.recnum

    customers: list[HandKeyedCustomer] = []
    invoices: list[HandKeyedInvoice] = []
    for company_id in chosen:
        company = world.companies[company_id]
        own = handed[company_id]
        picked = sorted(rng.sample(own, _share(len(own), invoice_share)), key=lambda i: i.id)
        first = world.locations[picked[0].location_id]
        customers.append(
            HandKeyedCustomer(
                name=company.name,
                street=company.address.street,
                city=company.address.city,
                state=company.address.state,
                postal_code=company.address.postal_code,
                phone=company.phone,
                tax_district=district(first.id),
                job_name=first.name if mapping.job_numbering == JOB_PER_LOCATION else "",
            )
        )
        for invoice in picked:
            subtotal, tax = invoice_totals(world, invoice)
            lines = tuple(
                HandKeyedLine(
                    description=item.description,
                    amount=cents(item.quantity * item.price),
                    quantity=item.quantity,
                    taxable=item.taxable,
                    item_type=world.lib_items[item.lib_item_id].type,
                )
                for item in invoice.items
            )
            invoices.append(
                HandKeyedInvoice(
                    number=invoice.invoice_number,
                    customer=company.name,
                    date=_local_day(world, invoice.transaction_date),
                    total=cents(subtotal + tax),
                    tax=cents(tax),
                    lines=lines,
                    tax_district=district(invoice.location_id),
                    description=invoice.name,
                )
            )
    last_simulated = world.today - timedelta(days=1)  # world.today is the next day to simulate
    today = max([last_simulated, *(i.date for i in invoices)])
    return HandKeyed(BrownfieldHistory(customers=tuple(customers), invoices=tuple(invoices)), today)


def simulator_world(config: Config) -> World | None:
    """The embedded simulator's world as ``recon ingest`` will first see it: loaded from the
    state file when one exists, else generated from the seed; None for a real ServiceTrade."""
    if config.servicetrade.base_url != EMBEDDED:
        return None
    from simulator.persist import load_world
    from simulator.scenario import generate

    sim = config.servicetrade.simulator
    if sim.state_file and Path(sim.state_file).exists():
        return load_world(Path(sim.state_file))
    return generate(sim.seed, start=date.fromisoformat(sim.start_date), scale=sim.scale)


def create(url: str, config: Config, *, reset: bool = False) -> tuple[Brownfield, HandKeyed]:
    """The brownfield company at ``url`` for ``config``: with the embedded simulator, some of
    its customers and invoices keyed in by hand; with a real ServiceTrade, none, made today."""
    world = simulator_world(config)
    if world is None:
        keyed = HandKeyed(BrownfieldHistory(), date.today())
        seed = config.servicetrade.simulator.seed
    else:
        seed = world.seed
        keyed = hand_keyed(world, config.mapping, seed=seed)
    made = init_brownfield(
        url, config.mapping, history=keyed.history, today=keyed.today, seed=seed, reset=reset
    )
    return made, keyed
