"""`dmesh-dbt catalog` in a real browser: headless Chromium loads the site built from a registry the test publishes.

The registry (tests/catalog_registry.py) has 6 domains x 3 products x 3 releases, a consumer per domain, a
breaking and an additive change, and an injection payload in a description. Pages are opened from file:// with
every other request refused and recorded, so "no network fetch" is asserted, not assumed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.catalog_registry import INJECTION, build_registry, domain_name, product_name
from tests.engines import REPO_ROOT
from tests.helpers import run_cli

DOMAINS, PRODUCTS, RELEASES = 6, 3, 3
#: Where screenshots go; CI keeps the directory as the run's artifacts.
ARTIFACTS = Path(os.environ.get("DMESH_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))


@dataclass
class Site:
    registry: Path
    out: Path
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("catalog")
    build_registry(root / "registry", DOMAINS, PRODUCTS, RELEASES, hostile=True)
    result = run_cli("catalog", "--registry", str(root / "registry"), "--out", str(root / "site"), "--format", "json")
    assert result.returncode == 0, result.stderr
    return Site(root / "registry", root / "site", json.loads(result.stdout))


@dataclass
class Visit:
    """A page with what it logged and every request that left file://."""

    page: Any
    console: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Any) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    opened = Visit(page)
    page.on(
        "console", lambda m: opened.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: opened.console.append(f"pageerror: {e}"))

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            opened.network.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    yield opened
    context.close()
    assert opened.console == [], opened.console
    assert opened.network == [], opened.network


def _url(site: Site, page: str) -> str:
    return (site.out / page).as_uri()


def test_the_build_reports_what_it_rendered(site: Site) -> None:
    assert site.summary["domains"] == DOMAINS
    assert site.summary["products"] == DOMAINS * PRODUCTS
    assert site.summary["pages"] == DOMAINS * PRODUCTS + 2
    assert site.summary["corrupt"] == []


def test_every_product_is_reachable_from_the_mesh_page(site: Site, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(site, "index.html"))
    in_table = set(page.eval_on_selector_all("a.product-link", "links => links.map(a => a.getAttribute('href'))"))
    in_graph = set(page.eval_on_selector_all("svg a.product", "links => links.map(a => a.getAttribute('href'))"))
    expected = {f"products/{domain_name(d)}/{product_name(p)}.html" for d in range(DOMAINS) for p in range(PRODUCTS)}
    assert in_table == expected
    assert in_graph == expected
    for href in sorted(expected):
        page.goto(_url(site, href))
        domain, product = href.removeprefix("products/").removesuffix(".html").split("/")
        assert page.inner_text("h1") == f"{domain}.{product}"


def test_the_mesh_page_marks_the_domain_behind_the_platform(site: Site, visit: Visit) -> None:
    visit.page.goto(_url(site, "index.html"))
    assert "behind" in visit.page.inner_text(f"#domain-{domain_name(0)} td.built-with")
    assert "behind" not in visit.page.inner_text(f"#domain-{domain_name(1)} td.built-with")


def test_the_graph_joins_each_product_to_the_domains_that_read_it(site: Site, visit: Visit) -> None:
    visit.page.goto(_url(site, "index.html"))
    titles = visit.page.eval_on_selector_all("svg path.edge title", "ts => ts.map(t => t.textContent)")
    assert f"{domain_name(1)} reads {domain_name(0)}.{product_name(0)} (id, customer_email)" in titles
    assert len(titles) == DOMAINS  # each domain reads product 0 of the domain before it


def test_search_finds_a_column_and_leads_to_it(site: Site, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(site, "index.html"))
    page.fill("#search", "metric_1")
    results = page.locator("#search-results li a")
    names = results.all_inner_texts()
    assert f"{domain_name(3)}.{product_name(1)}.metric_1" in names
    page.click(f"#search-results li a:text-is('{domain_name(3)}.{product_name(1)}.metric_1')")
    assert page.url.endswith(f"products/{domain_name(3)}/{product_name(1)}.html#col-metric_1")
    assert page.locator("#col-metric_1").count() == 1


def test_a_consumer_appears_on_its_product_page_with_the_columns_it_reads(site: Site, visit: Visit) -> None:
    visit.page.goto(_url(site, f"products/{domain_name(2)}/{product_name(0)}.html"))
    rows = visit.page.locator("tr.consumer").all_inner_texts()
    assert len(rows) == 1
    assert domain_name(3) in rows[0]
    assert "id, customer_email" in rows[0]


def test_the_history_classifies_breaking_and_additive_changes(site: Site, visit: Visit) -> None:
    visit.page.goto(_url(site, f"products/{domain_name(1)}/{product_name(0)}.html"))
    history = visit.page.inner_text("ol.history")
    assert "1.2.0" in history
    assert "breaking" in history and "legacy_code" in history
    assert "non-breaking" in history and "metric_0" in history
    assert "first release of this product version" in history


def test_the_pii_map_lists_each_class_with_its_masking_and_readers(site: Site, visit: Visit) -> None:
    visit.page.goto(_url(site, "pii.html"))
    email = visit.page.inner_text("#pii-email")
    assert email.count("hash") == DOMAINS * PRODUCTS
    assert domain_name(1) in email  # reads customer_email of domain_00.product_00


def test_an_injection_payload_in_a_description_stays_inert_text(site: Site, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(site, f"products/{domain_name(0)}/{product_name(0)}.html"))
    assert page.evaluate("window.__pwned") is None
    assert page.inner_text("p.description") == INJECTION
    assert page.inner_text("#col-notes td:nth-child(3)") == INJECTION
    assert page.locator("main img").count() == 0
    page.fill("#search", "pwned")
    assert INJECTION in page.inner_text("#search-results")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#search-results img, #search-results script").count() == 0


def test_a_screenshot_of_the_mesh_page_is_saved(site: Site, visit: Visit) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "catalog-mesh.png"
    visit.page.goto(_url(site, "index.html"))
    visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_building_again_replaces_the_site_whole(site: Site, tmp_path: Path) -> None:
    first = run_cli("catalog", "--registry", str(site.registry), "--out", str(tmp_path / "site"))
    again = run_cli("catalog", "--registry", str(site.registry), "--out", str(tmp_path / "site"))
    assert first.returncode == again.returncode == 0, again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging or old copy left behind


def test_it_refuses_to_replace_a_directory_that_is_not_a_catalog(site: Site, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = run_cli("catalog", "--registry", str(site.registry), "--out", str(tmp_path / "mine"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--out" in result.stderr and "not a catalog" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
