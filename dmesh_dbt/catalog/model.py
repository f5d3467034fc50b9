"""What the catalog shows, read from the registry alone: domains, product versions, consumers, history, PII.

Everything here comes from files other domains wrote (contracts, consumer records): it is data to display, never
code. The site escapes it when it renders (``catalog.site``); this module only reads and relates it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dmesh_dbt import __version__
from dmesh_dbt.changes.detect import compare_models
from dmesh_dbt.contracts import ProductContract, project_from_contract, read_contract
from dmesh_dbt.errors import RegistryError
from dmesh_dbt.registry import (
    BuiltWith,
    ConsumerRecord,
    CorruptEntry,
    ProductEntry,
    Registry,
    Release,
    version_sort_key,
)


@dataclass(frozen=True)
class ChangeView:
    """One classified difference between two consecutive releases of a product."""

    kind: str  # BC003
    name: str  # column-removed
    breaking: bool
    pii: bool  # about PII: a class or a masking strategy changed, or a leak
    description: str


@dataclass(frozen=True)
class HistoryEntry:
    """A release of the domain that carried this product version, and what changed since the one before."""

    release: str
    published_at: str
    changes: tuple[ChangeView, ...]
    first: bool  # the first release that carried the product version (changes: against what it supersedes)


@dataclass(frozen=True)
class Reader:
    """A consuming domain's read of a product version: the columns its models use."""

    domain: str
    pinned: bool  # reads this model version explicitly (`@v`), not "the latest"
    columns: tuple[str, ...]
    recorded_at: str


@dataclass(frozen=True)
class ProductView:
    """One product version (a public model version) in its domain's latest release."""

    contract: ProductContract
    release: Release
    readers: tuple[Reader, ...]
    history: tuple[HistoryEntry, ...]

    @property
    def domain(self) -> str:
        return self.contract.domain

    @property
    def label(self) -> str:
        """``customers`` or ``customers v2``, as the pages show it."""
        version = self.contract.model_version
        return self.contract.product if version is None else f"{self.contract.product} v{version}"

    @property
    def page(self) -> str:
        """The product's page, relative to the site root; names were validated when the contract was read."""
        suffix = f".v{self.contract.model_version}" if self.contract.model_version is not None else ""
        return f"products/{self.domain}/{self.contract.product}{suffix}.html"

    @property
    def consume_line(self) -> str:
        return f"dmesh-dbt consume {self.contract.ref}"

    @property
    def source_snippet(self) -> str:
        return f"{{{{ source('{self.domain}', '{self.contract.product}') }}}}"

    @property
    def ref_snippet(self) -> str:
        version = self.contract.model_version
        pinned = "" if version is None else f", v={version}"
        return f"{{{{ ref('{self.domain}', '{self.contract.product}'{pinned}) }}}}"

    @property
    def freshness_text(self) -> str:
        """``warn after 24 hour; error after 48 hour``; "" when the product promises none."""
        rules = []
        for level in ("warn_after", "error_after"):
            rule = self.contract.freshness.get(level) or {}
            if isinstance(rule, dict) and rule.get("count") is not None:
                rules.append(f"{level.replace('_', ' ')} {rule.get('count')} {rule.get('period', '')}".strip())
        return "; ".join(rules)

    @property
    def deprecation_day(self) -> str:
        return (self.contract.deprecation_date or "")[:10]

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.contract.columns if c.pii)


@dataclass(frozen=True)
class DomainView:
    """A domain as its latest release describes it."""

    name: str
    release: Release
    releases: tuple[str, ...]  # every committed version, oldest first
    owner: str
    team_description: str
    tier: str | None
    freshness: str  # the freshest SLA any of its products promises, as text; "" when none does
    products: tuple[ProductView, ...]
    reads: tuple[str, ...]  # product refs (domain.product[@v]) this domain consumes
    behind: tuple[str, ...] = ()  # what its latest release was built with that is older than this toolkit

    @property
    def template_version(self) -> str:
        return (self.release.built_with.template if self.release.built_with else None) or "unknown"

    @property
    def package_version(self) -> str:
        return (self.release.built_with.dmesh_package if self.release.built_with else None) or "unknown"


@dataclass(frozen=True)
class PiiUse:
    """One published column of a PII class: where, masked how, and which domains read it."""

    product: ProductView
    column: str
    masking: str | None  # None: published unmasked under a mask exception
    readers: tuple[str, ...]


@dataclass(frozen=True)
class Mesh:
    """The whole mesh the registry describes, ready to render."""

    registry: str
    domains: tuple[DomainView, ...]
    #: Domains that consume products but publish none, with what they read.
    consumers_only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pii: dict[str, tuple[PiiUse, ...]] = field(default_factory=dict)
    corrupt: tuple[CorruptEntry | str, ...] = ()

    @property
    def products(self) -> tuple[ProductView, ...]:
        return tuple(p for d in self.domains for p in d.products)


# ------------------------------------------------------------------------------------------------------ reading


def read_mesh(store: Registry, announce: Callable[[str], None] = lambda _: None) -> Mesh:
    """Every domain's latest release with its products' contracts, consumers and history.

    A corrupt entry (release, contract or consumer record) leaves out only itself and is listed in
    ``Mesh.corrupt``: one bad file must not take the catalog of the whole mesh down.
    """
    corrupt: list[CorruptEntry | str] = []
    releases_by_domain: dict[str, list[Release]] = {}
    for domain in store.domains():
        releases, bad = store.scan(domain)
        corrupt.extend(bad)
        if releases:
            releases_by_domain[domain] = sorted(releases, key=lambda r: version_sort_key(r.version))
    consumers = _consumers_by_product(store, releases_by_domain, corrupt)
    announce(f"read {len(releases_by_domain)} domain(s) from {store.url}")
    domains = tuple(
        _domain_view(store, releases, consumers, corrupt) for _, releases in sorted(releases_by_domain.items())
    )
    return Mesh(store.url, domains, _consumers_only(domains, consumers), pii_map(domains), tuple(corrupt))


def _consumers_only(
    domains: Sequence[DomainView], consumers: dict[tuple[str, str], list[ConsumerRecord]]
) -> dict[str, tuple[str, ...]]:
    publishing = {d.name for d in domains}
    reads: dict[str, set[str]] = defaultdict(set)
    for records in consumers.values():
        for r in records:
            if r.consumer not in publishing:
                reads[r.consumer].add(_read_ref(r))
    return {domain: tuple(sorted(refs)) for domain, refs in sorted(reads.items())}


def _read_ref(record: ConsumerRecord) -> str:
    return f"{record.domain}.{record.product}" + (f"@{record.version}" if record.version else "")


def _consumers_by_product(
    store: Registry, releases_by_domain: dict[str, list[Release]], corrupt: list[CorruptEntry | str]
) -> dict[tuple[str, str], list[ConsumerRecord]]:
    found: dict[tuple[str, str], list[ConsumerRecord]] = defaultdict(list)
    for domain in releases_by_domain:
        records, bad = store.consumer_scan(domain)
        corrupt.extend(bad)
        for record in records:
            found[(record.domain, record.product)].append(record)
    return found


def _domain_view(
    store: Registry,
    releases: Sequence[Release],
    consumers: dict[tuple[str, str], list[ConsumerRecord]],
    corrupt: list[CorruptEntry | str],
) -> DomainView:
    latest = releases[-1]
    contracts = _contracts_by_release(store, releases, corrupt)
    products = tuple(
        _product_view(latest, entry, contracts, releases, consumers[(latest.domain, entry.name)])
        for entry in latest.products
        if (latest.version, entry.name, entry.version) in contracts
    )
    first = products[0].contract if products else None
    reads = sorted({_read_ref(r) for records in consumers.values() for r in records if r.consumer == latest.domain})
    return DomainView(
        name=latest.domain,
        release=latest,
        releases=tuple(r.version for r in releases),
        owner=latest.owner,
        team_description=first.team_description if first else "",
        tier=next((p.contract.tier for p in products if p.contract.tier), None),
        freshness=_freshest(products),
        products=products,
        reads=tuple(reads),
        behind=tuple((latest.built_with or BuiltWith()).behind(__version__)),
    )


_ContractKey = tuple[str, str, str | None]  # (release version, product, model version)


def _contracts_by_release(
    store: Registry, releases: Iterable[Release], corrupt: list[CorruptEntry | str]
) -> dict[_ContractKey, ProductContract]:
    contracts: dict[_ContractKey, ProductContract] = {}
    for release in releases:
        for entry in release.products:
            try:
                contracts[(release.version, entry.name, entry.version)] = read_contract(store, release, entry)
            except RegistryError as error:
                corrupt.append(f"{release.domain} {release.version} {entry.ref}: {error}")
    return contracts


def _product_view(
    latest: Release,
    entry: ProductEntry,
    contracts: dict[_ContractKey, ProductContract],
    releases: Sequence[Release],
    records: Sequence[ConsumerRecord],
) -> ProductView:
    contract = contracts[(latest.version, entry.name, entry.version)]
    return ProductView(contract, latest, _readers(entry, records), _history(entry, contracts, releases))


def _readers(entry: ProductEntry, records: Iterable[ConsumerRecord]) -> tuple[Reader, ...]:
    """Who reads this model version: consumers pinned to it, and those following the latest when it is the
    latest (or the product has no versions)."""
    is_latest = entry.version is None or entry.version == entry.latest_version
    readers = [
        Reader(r.consumer, r.version is not None, r.columns, r.recorded_at)
        for r in records
        if r.version == entry.version or (r.version is None and is_latest)
    ]
    return tuple(sorted(readers, key=lambda r: r.domain))


def _history(
    entry: ProductEntry, contracts: dict[_ContractKey, ProductContract], releases: Sequence[Release]
) -> tuple[HistoryEntry, ...]:
    """Every release that carried this product version, newest first, with the changes from the one before.

    A version's first release is compared with what consumers read before it: the product's latest version in
    the previous release (a new ``v2`` against the ``v1`` or unversioned product it supersedes)."""
    history: list[HistoryEntry] = []
    previous: ProductContract | None = None
    for index, release in enumerate(releases):
        contract = contracts.get((release.version, entry.name, entry.version))
        if contract is None:
            continue
        first = previous is None
        before = previous if previous is not None else _superseded(entry.name, contracts, releases[:index])
        changes = () if before is None else classify_changes(before, contract)
        history.append(HistoryEntry(release.version, release.published_at, changes, first))
        previous = contract
    return tuple(reversed(history))


def _superseded(
    name: str, contracts: dict[_ContractKey, ProductContract], earlier: Sequence[Release]
) -> ProductContract | None:
    """The latest version of product ``name`` in the last of ``earlier`` releases that had it."""
    for release in reversed(earlier):
        entry = release.product(name)
        if entry is not None:
            return contracts.get((release.version, name, entry.version))
    return None


def classify_changes(old: ProductContract, new: ProductContract) -> tuple[ChangeView, ...]:
    """The classified changes between two contracts of one product version, as ``check`` classifies them."""
    (old_model,) = project_from_contract(old).models
    (new_model,) = project_from_contract(new).models
    found = compare_models(old_model, new_model, old.server.type, new.server.type)
    return tuple(
        ChangeView(
            kind=c.kind.id,
            name=c.kind.name,
            breaking=c.kind.breaking,
            pii=c.kind.leak or "pii" in c.kind.name or "mask" in c.kind.name,
            description=c.description,
        )
        for c in found
    )


def _freshest(products: Iterable[ProductView]) -> str:
    """The strictest freshness any product promises, e.g. "error after 24 hour"."""
    promises = []
    for product in products:
        error_after = product.contract.freshness.get("error_after") or {}
        count, period = error_after.get("count"), error_after.get("period")
        if isinstance(count, int) and period in _PERIOD_HOURS:
            promises.append((count * _PERIOD_HOURS[period], f"error after {count} {period}"))
    return min(promises)[1] if promises else ""


_PERIOD_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


def pii_map(domains: Iterable[DomainView]) -> dict[str, tuple[PiiUse, ...]]:
    """For each PII class: every published column of it, its masking, and the domains that read it."""
    uses: dict[str, list[PiiUse]] = defaultdict(list)
    for domain in domains:
        for product in domain.products:
            for column in product.contract.columns:
                if not column.pii:
                    continue
                readers = tuple(r.domain for r in product.readers if column.name.lower() in _lower(r.columns))
                uses[column.pii].append(PiiUse(product, column.name, column.masking, readers))
    return {pii_class: tuple(uses[pii_class]) for pii_class in sorted(uses)}


def _lower(names: Iterable[str]) -> set[str]:
    return {n.lower() for n in names}
