"""A generated registry for the catalog's tests and benchmark: real releases through ``Registry.publish``.

``domains`` x ``products`` x ``releases``: domain 0 lags behind the platform's version; each release of a domain
adds a column to every product (additive) and the last one removes ``legacy_code`` from product 0 (breaking);
every domain consumes product 0 of the domain before it. ``hostile`` puts an HTML/JS injection payload into a
description, where registry text is untrusted.
"""

from __future__ import annotations

from pathlib import Path

from dmesh_dbt import __version__
from dmesh_dbt.contracts import ContractColumn, ProductContract, Relation, Server, render_contract
from dmesh_dbt.registry import BuiltWith, ConsumerRecord, ProductEntry, Registry, now_utc

#: Rendered as text it proves nothing ran: the page must show it literally and never execute it.
INJECTION = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> "quoted" & </td>'


def domain_name(index: int) -> str:
    return f"domain_{index:02d}"


def product_name(index: int) -> str:
    return f"product_{index:02d}"


def _columns(product: int, release: int, hostile: bool) -> tuple[ContractColumn, ...]:
    columns = [
        ContractColumn("id", "bigint", "Surrogate key.", required=True, unique=True, primary_key=True),
        ContractColumn("customer_email", "varchar", "Contact email.", pii="email", masking="hash"),
        ContractColumn("country_code", "varchar", "ISO 3166-1 alpha-2 country code."),
        ContractColumn("amount_cents", "bigint", "Amount in minor units.", required=True),
    ]
    if not (product == 0 and release >= 2):
        columns.append(ContractColumn("legacy_code", "varchar", "Code from the old system."))
    if hostile and product == 0:
        columns.append(ContractColumn("notes", "varchar", INJECTION, pii="free_text", masking="redact"))
    columns += [ContractColumn(f"metric_{i}", "double", f"Metric {i} added in release {i}.") for i in range(release)]
    return tuple(columns)


def contract(domain: int, product: int, release: int, hostile: bool = False) -> ProductContract:
    name = product_name(product)
    return ProductContract(
        domain=domain_name(domain),
        product=name,
        model_version=None,
        latest_version=None,
        release=f"1.{release}.0",
        description=INJECTION if hostile and product == 0 else f"Product {product} of domain {domain}.",
        owner=f"team-{domain}@acme.test",
        team_description=f"The team of domain {domain}.",
        tier="gold" if domain % 2 else "silver",
        relation=Relation(domain_name(domain), "published", name),
        materialization="table",
        server=Server("prod", "duckdb", {"database": domain_name(domain), "schema": "published"}),
        columns=_columns(product, release, hostile),
        freshness={"error_after": {"count": 24, "period": "hour"}},
        availability="99.5%",
    )


def built_with(domain: int) -> BuiltWith:
    """Domain 0 was built with an older template and package than this toolkit: it lags behind the platform."""
    return BuiltWith("0.0.9", "0.0.9") if domain == 0 else BuiltWith(__version__, __version__)


def build_registry(path: Path, domains: int, products: int, releases: int, hostile: bool = False) -> Registry:
    """Publish the releases into a local registry at ``path`` and record every consumer."""
    store = Registry.open(str(path))
    for d in range(domains):
        for r in range(releases):
            contracts = [contract(d, p, r, hostile and d == 0) for p in range(products)]
            files = {c.file_name: render_contract(c).encode() for c in contracts}
            entries = tuple(ProductEntry(c.product, None, None, c.file_name) for c in contracts)
            store.publish(
                domain_name(d),
                f"1.{r}.0",
                f"team-{d}@acme.test",
                entries,
                files,
                f"project-{d}",
                built_with=built_with(d),
            )
    for d in range(domains):
        producer = (d - 1) % domains
        if producer == d:
            continue
        record = ConsumerRecord(
            domain_name(d), domain_name(producer), product_name(0), None, ("id", "customer_email"), now_utc()
        )
        store.record_consumer(record)
    return store
