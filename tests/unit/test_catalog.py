"""The catalog's pieces without a browser: what it reads from a registry, the search index and the graph's escaping."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from dmesh_dbt.catalog.graph import mesh_svg
from dmesh_dbt.catalog.model import DomainView, Mesh, ProductView, Reader, classify_changes, read_mesh
from dmesh_dbt.catalog.site import search_index_script
from dmesh_dbt.registry import Release
from tests.catalog_registry import INJECTION, build_registry, contract, domain_name, product_name


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Mesh:
    store = build_registry(tmp_path_factory.mktemp("registry"), 3, 2, 3, hostile=True)
    return read_mesh(store)


def test_each_domain_shows_its_latest_release_and_every_product_of_it(mesh: Mesh) -> None:
    assert [d.name for d in mesh.domains] == [domain_name(0), domain_name(1), domain_name(2)]
    assert all(d.release.version == "1.2.0" and d.releases == ("1.0.0", "1.1.0", "1.2.0") for d in mesh.domains)
    assert [p.label for p in mesh.domains[0].products] == [product_name(0), product_name(1)]


def test_readers_are_the_consumer_records_of_that_product(mesh: Mesh) -> None:
    product = mesh.domains[0].products[0]
    assert [(r.domain, r.columns) for r in product.readers] == [(domain_name(1), ("id", "customer_email"))]
    assert mesh.domains[1].reads == (f"{domain_name(0)}.{product_name(0)}",)


def test_history_is_newest_first_with_each_release_classified_against_the_one_before(mesh: Mesh) -> None:
    history = mesh.domains[0].products[0].history
    assert [h.release for h in history] == ["1.2.0", "1.1.0", "1.0.0"]
    assert history[-1].first and history[-1].changes == ()
    kinds = {(c.breaking, c.description.split("column ")[-1].split(" ")[0]) for c in history[0].changes}
    assert (True, "legacy_code") in kinds  # removed from product 0 in 1.2.0
    assert (False, "metric_1") in kinds  # added in 1.2.0


def test_a_masking_change_is_marked_as_pii_related() -> None:
    old = contract(0, 1, 1)
    columns = tuple(replace(c, masking="partial") if c.name == "customer_email" else c for c in old.columns)
    new = replace(old, columns=columns)
    changes = classify_changes(old, new)
    assert changes and all(c.pii for c in changes)


def test_the_pii_map_names_every_published_column_of_a_class_and_its_readers(mesh: Mesh) -> None:
    email = mesh.pii["email"]
    assert len(email) == 3 * 2
    assert next(
        u for u in email if u.product.domain == domain_name(0) and u.product.label == product_name(0)
    ).readers == (domain_name(1),)
    assert [u.column for u in mesh.pii["free_text"]] == ["notes"]


def test_the_search_index_cannot_close_its_script_or_run_anything(mesh: Mesh) -> None:
    script = search_index_script(mesh)
    body = script.removeprefix("window.DMESH_SEARCH = ").removesuffix(";\n")
    assert "<" not in body and ">" not in body and "&" not in body
    entries = json.loads(body)
    assert any(e["d"] == INJECTION for e in entries)  # the text survives, only its encoding changed
    assert {e["k"] for e in entries} == {"domain", "product", "column"}


def test_graph_text_is_escaped_even_where_names_were_validated(mesh: Mesh) -> None:
    # Names are validated when read; the graph escapes anyway, so a future field cannot become markup.
    hostile = replace(mesh.domains[0], name='<script>alert("x")</script>')
    svg = str(mesh_svg((hostile,)))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in svg


def test_the_graph_has_a_node_per_product_and_an_edge_per_read(mesh: Mesh) -> None:
    svg = str(mesh_svg(mesh.domains))
    assert svg.count('class="node product') == 3 * 2
    assert svg.count('class="edge') == 3
    assert "<script" not in svg


def _big_mesh(domains: int, products: int) -> tuple[DomainView, ...]:
    """50 domains x 10 products in memory (no registry): each domain reads product 0 of the three before it."""
    views = []
    for d in range(domains):
        release = Release(domain_name(d), "1.0.0", "0" * 64, "2026-12-01T00:00:00+00:00", "team@acme.test", (), ())
        readers = tuple(Reader(domain_name((d + k) % domains), False, ("id",), "") for k in (1, 2, 3))
        views.append(
            DomainView(
                name=domain_name(d),
                release=release,
                releases=("1.0.0",),
                owner="team@acme.test",
                team_description="",
                tier=None,
                freshness="",
                products=tuple(
                    ProductView(contract(d, p, 0), release, readers if p == 0 else (), ()) for p in range(products)
                ),
                reads=(),
            )
        )
    return tuple(views)


def _boxes(svg: str, css_class: str) -> list[tuple[float, float]]:
    """(top, bottom) of every rect of the nodes with ``css_class``."""
    pattern = rf'class="node {css_class}[^"]*"><rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"'
    return [(float(y), float(y) + float(h)) for y, h in re.findall(pattern, svg)]


def test_the_graph_stays_readable_at_50_domains_and_500_products() -> None:
    svg = str(mesh_svg(_big_mesh(50, 10)))
    for css_class, count in (("domain", 50), ("product", 500), ("consumer", 50)):
        boxes = sorted(_boxes(svg, css_class))
        assert len(boxes) == count
        # No two nodes of a column overlap, and each keeps the height its label needs.
        assert all(below[0] >= above[1] for above, below in zip(boxes, boxes[1:], strict=False)), css_class
        assert all(bottom - top >= 18 for top, bottom in boxes)
    assert svg.count('class="edge') == 150


def test_each_domain_shows_the_toolkit_it_was_built_with_and_whether_it_lags(mesh: Mesh) -> None:
    lagging, current = mesh.domains[0], mesh.domains[1]
    assert (lagging.template_version, lagging.package_version) == ("0.0.9", "0.0.9")
    assert lagging.behind == ("template 0.0.9", "dmesh package 0.0.9")
    assert current.behind == ()
