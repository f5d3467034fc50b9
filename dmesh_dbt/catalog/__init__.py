"""``dmesh-dbt catalog``: one static site of every domain, data product, contract, consumer and PII flow.

Built from the registry alone (``catalog.model`` reads it, ``catalog.graph`` draws the mesh, ``catalog.site``
writes the pages), so any registry a platform points it at renders the same, locally or in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dmesh_dbt.catalog.model import Mesh, read_mesh
from dmesh_dbt.catalog.site import SiteSummary, check_out_dir, render_site
from dmesh_dbt.registry import Registry

__all__ = ["Mesh", "SiteSummary", "build_catalog", "read_mesh", "render_site"]


def build_catalog(store: Registry, out: Path, announce: Callable[[str], None] = lambda _: None) -> SiteSummary:
    """Read the whole mesh from ``store`` and write its catalog into ``out`` (replaced whole, never half)."""
    check_out_dir(out)
    mesh = read_mesh(store, announce)
    announce(f"rendering {len(mesh.products)} product page(s)")
    return render_site(mesh, out)
