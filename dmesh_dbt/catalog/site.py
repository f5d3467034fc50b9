"""Render the mesh as a static site: plain HTML, one stylesheet, one small script, no network fetch at all.

Works from ``file://`` and from any static host: every link is relative, the search index is a script the pages
load (``fetch`` of JSON is refused on ``file://``), and the graph is SVG drawn at build time. Registry text is
untrusted: the templates autoescape everything, the search index is JSON with ``<``, ``>`` and ``&`` escaped, and
the script builds results with ``textContent`` only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dmesh_dbt import __version__
from dmesh_dbt.catalog.graph import mesh_svg
from dmesh_dbt.catalog.model import Mesh
from dmesh_dbt.errors import UsageError

_ASSETS = ("catalog.css", "search.js")


@dataclass(frozen=True)
class SiteSummary:
    """What a catalog build wrote."""

    out: Path
    domains: int
    products: int
    pages: int
    pii_classes: int
    corrupt: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "domains": self.domains,
            "products": self.products,
            "pages": self.pages,
            "pii_classes": self.pii_classes,
            "corrupt": list(self.corrupt),
        }


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("dmesh_dbt", "data/catalog/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def search_entries(mesh: Mesh) -> list[dict[str, str]]:
    """What the search box finds: domains, products and columns with their descriptions; urls from the root."""
    entries: list[dict[str, str]] = []
    for domain in mesh.domains:
        entries.append(
            {"k": "domain", "n": domain.name, "d": domain.team_description, "u": f"index.html#domain-{domain.name}"}
        )
        for product in domain.products:
            contract = product.contract
            entries.append(
                {"k": "product", "n": f"{domain.name}.{product.label}", "d": contract.description, "u": product.page}
            )
            for column in contract.columns:
                entries.append(
                    {
                        "k": "column",
                        "n": f"{domain.name}.{product.label}.{column.name}",
                        "d": column.description + (f" [pii: {column.pii}]" if column.pii else ""),
                        "u": f"{product.page}#col-{column.name}",
                    }
                )
    return entries


def search_index_script(mesh: Mesh) -> str:
    """The search index as a script: JSON that cannot close a tag, open a comment or break out of the string."""
    data = json.dumps(search_entries(mesh), ensure_ascii=True, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.DMESH_SEARCH = {data};\n"


def render_site(mesh: Mesh, out: Path) -> SiteSummary:
    """Write the whole site into ``out``, replacing what was there only once every page is written."""
    env = _environment()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        pages = _write_pages(env, mesh, staging)
        _replace_directory(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteSummary(
        out=out,
        domains=len(mesh.domains),
        products=len(mesh.products),
        pages=pages,
        pii_classes=len(mesh.pii),
        corrupt=tuple(str(c) for c in mesh.corrupt),
    )


def _write_pages(env: Environment, mesh: Mesh, root: Path) -> int:
    common = {"mesh": mesh, "version": __version__}
    (root / "assets").mkdir()
    for asset in _ASSETS:
        source = resources.files("dmesh_dbt").joinpath("data", "catalog", "assets", asset)
        (root / "assets" / asset).write_bytes(source.read_bytes())
    (root / "assets" / "search-index.js").write_text(search_index_script(mesh), encoding="utf-8")
    _page(env, root / "index.html", "mesh.html.j2", root_path="", graph=mesh_svg(mesh.domains), **common)
    _page(env, root / "pii.html", "pii.html.j2", root_path="", **common)
    product_template = env.get_template("product.html.j2")
    for product in mesh.products:
        path = root / product.page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(product_template.render(root_path="../../", product=product, **common), encoding="utf-8")
    return 2 + len(mesh.products)


def _page(env: Environment, path: Path, template: str, **context: Any) -> None:
    path.write_text(env.get_template(template).render(**context), encoding="utf-8")


def check_out_dir(out: Path) -> None:
    """Refuse (before any work) an ``--out`` that exists and is not a catalog: no index and not empty, so a
    mistyped path cannot replace someone's files."""
    if not out.exists():
        return
    if not out.is_dir() or (any(out.iterdir()) and not (out / "assets" / "search-index.js").exists()):
        raise UsageError(f"--out {out} exists and is not a catalog dmesh-dbt wrote; choose a new or empty directory")


def _replace_directory(staging: Path, out: Path) -> None:
    """Swap the new site in with renames: a reader sees the old site or the new one, never half of one."""
    check_out_dir(out)
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)
    out.chmod(0o755)
