"""The mesh graph as SVG, laid out at build time: producing domains -> products -> consuming domains.

Three columns, so the picture stays readable at 50 domains and 500 products (it grows in height, never in
crossings between domains): each producing domain is a box beside its own products, and every product is joined
to the domains that read it. Every label is escaped (names come from the registry); every node links to its page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup

from dmesh_dbt.catalog.model import DomainView, ProductView

ROW = 22  # height of one product row
GAP = 10  # between two domains' products
TOP = 30  # room for the column titles
DOMAIN_X, DOMAIN_W = 10, 190
PRODUCT_X, PRODUCT_W = 290, 260
CONSUMER_X, CONSUMER_W = 690, 190
WIDTH = CONSUMER_X + CONSUMER_W + 10
LABEL_CHARS = 30


@dataclass(frozen=True)
class _Placed:
    product: ProductView
    y: int


def _label(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _place_products(domains: Iterable[DomainView]) -> tuple[list[_Placed], dict[str, tuple[int, int]], int]:
    """Each product's row, each producing domain's span (top, bottom), and the height used."""
    placed: list[_Placed] = []
    spans: dict[str, tuple[int, int]] = {}
    y = TOP
    for domain in domains:
        if not domain.products:
            continue
        top = y
        for product in domain.products:
            placed.append(_Placed(product, y))
            y += ROW
        spans[domain.name] = (top, y - 4)
        y += GAP
    return placed, spans, y


def _place_consumers(placed: list[_Placed], height: int) -> dict[str, int]:
    """Consuming domains spread over the height, ordered by where the products they read sit (fewer crossings)."""
    rows: dict[str, list[int]] = {}
    for item in placed:
        for reader in item.product.readers:
            rows.setdefault(reader.domain, []).append(item.y)
    ordered = sorted(rows, key=lambda d: (sum(rows[d]) / len(rows[d]), d))
    if not ordered:
        return {}
    step = max(ROW + 4, (height - TOP) // len(ordered))
    return {domain: TOP + i * step for i, domain in enumerate(ordered)}


def mesh_svg(domains: Iterable[DomainView]) -> Markup:
    """The whole mesh as one inline SVG element; links are relative to the site root."""
    placed, spans, used = _place_products(domains)
    consumers = _place_consumers(placed, used)
    height = max(used, max(consumers.values(), default=0) + ROW + GAP, TOP + ROW)
    parts: list[Markup] = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="mesh-graph" role="img" '
            'aria-label="domains, their data products and the domains that consume them" '
            'width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        ).format(w=WIDTH, h=height),
        Markup('<text class="col" x="{}" y="16">producing domain</text>').format(DOMAIN_X),
        Markup('<text class="col" x="{}" y="16">data product</text>').format(PRODUCT_X),
        Markup('<text class="col" x="{}" y="16">consuming domain</text>').format(CONSUMER_X),
    ]
    parts += _edges(placed, consumers)
    parts += (_domain_box(name, top, bottom) for name, (top, bottom) in spans.items())
    parts += (_product_node(item) for item in placed)
    parts += (_consumer_node(name, y) for name, y in consumers.items())
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _edges(placed: list[_Placed], consumers: dict[str, int]) -> list[Markup]:
    edges = []
    for item in placed:
        y1 = item.y + (ROW - 4) / 2
        x1 = PRODUCT_X + PRODUCT_W
        for reader in item.product.readers:
            y2 = consumers[reader.domain] + (ROW - 4) / 2
            pii = any(c.lower() in {p.lower() for p in item.product.pii_columns} for c in reader.columns)
            edges.append(
                Markup(
                    '<path class="edge{pii}" d="M{x1},{y1} C{cx1},{y1} {cx2},{y2} {x2},{y2}">'
                    "<title>{title}</title></path>"
                ).format(
                    pii=" pii" if pii else "",
                    x1=x1,
                    y1=y1,
                    cx1=x1 + 70,
                    cx2=CONSUMER_X - 70,
                    x2=CONSUMER_X,
                    y2=y2,
                    title=f"{reader.domain} reads {item.product.contract.ref} ({', '.join(reader.columns)})",
                )
            )
    return edges


def _domain_box(name: str, top: int, bottom: int) -> Markup:
    return Markup(
        '<a href="#domain-{name}" class="node domain"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4"/>'
        '<text x="{tx}" y="{ty}">{label}</text><title>{name}</title></a>'
        '<line class="own" x1="{x2}" y1="{my}" x2="{px}" y2="{my}"/>'
    ).format(
        name=name,
        x=DOMAIN_X,
        y=top,
        w=DOMAIN_W,
        h=max(bottom - top, ROW - 4),
        tx=DOMAIN_X + 8,
        ty=top + 13,
        label=_label(name, 24),
        x2=DOMAIN_X + DOMAIN_W,
        px=PRODUCT_X,
        my=top + (ROW - 4) / 2,
    )


def _product_node(item: _Placed) -> Markup:
    product = item.product
    return Markup(
        '<a href="{href}" class="node product{pii}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3"/>'
        '<text x="{tx}" y="{ty}">{label}</text><title>{title}</title></a>'
    ).format(
        href=product.page,
        pii=" has-pii" if product.pii_columns else "",
        x=PRODUCT_X,
        y=item.y,
        w=PRODUCT_W,
        h=ROW - 4,
        tx=PRODUCT_X + 8,
        ty=item.y + 13,
        label=_label(product.label),
        title=f"{product.domain}.{product.label}",
    )


def _consumer_node(name: str, y: int) -> Markup:
    return Markup(
        '<a href="#domain-{name}" class="node consumer"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4"/>'
        '<text x="{tx}" y="{ty}">{label}</text><title>{name}</title></a>'
    ).format(
        name=name, x=CONSUMER_X, y=y, w=CONSUMER_W, h=ROW - 4, tx=CONSUMER_X + 8, ty=y + 13, label=_label(name, 24)
    )
