"""DM015: a public model's YAML and its relation in the warehouse list the same columns.

The YAML is what contracts, the registry and consumers read; the relation is what they get. When the two drift
apart (a column renamed in SQL but not in YAML, a column added to SQL and never documented), dbt's contract catches
it only at the next build, and a model without one never. With ``catalog.json`` in the target path (``dbt docs
generate`` after a build, read as an artifact) ``check`` compares them: a documented column the relation lacks, a
real column the YAML lacks. Without a catalog, for a model it does not list (not built), or for one whose SQL
changed after the catalog was written (its relation is stale), the rule says nothing and the report's ``catalog:``
line says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

from msgspec.structs import replace

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Access, Catalog, Model, Project, load_catalog
from dmesh_dbt.policy.engine import PolicyContext, Violation, rule

#: The catalog's file name; ``dbt docs generate`` writes it in the project's target path (check finds it there).
CATALOG_FILE = "catalog.json"

_M = ex.model("customers", ex.KEY, ex.column("email", meta={"pii": "email"}))
_ORDERS = ex.model("orders")

#: The examples' warehouse: customers returns e_mail and segment where its YAML says email; orders matches its YAML
#: (the warehouse folds case); refunds was never built.
_CATALOG = Catalog(
    Path("target") / CATALOG_FILE,
    None,
    MappingProxyType({_M.unique_id: ("customer_id", "e_mail", "segment"), _ORDERS.unique_id: ("CUSTOMER_ID",)}),
)


@rule(
    "DM015",
    "columns-match-relation",
    examples=ex.Examples(
        fails=(ex.project(_M),),
        passes=(
            ex.project(_ORDERS),
            ex.project(ex.model("refunds")),
            ex.project(ex.model("customers", ex.KEY, ex.column("email"), access=Access.PROTECTED)),
        ),
        context={"catalog": _CATALOG},
    ),
)
def public_columns_match_the_relation(ctx: PolicyContext) -> Iterator[Violation]:
    """The columns a public model documents are the columns its relation has (with target/catalog.json).

    Fails: the YAML documents ``email`` but the model's SQL returns ``e_mail``, and returns ``segment``, which the
    YAML does not list (after ``dbt build`` and ``dbt docs generate``).

    Fixed::

        columns:
          - name: e_mail        # as the SQL returns it (or rename it in the SQL and rebuild)
          - name: segment
            data_type: varchar
            description: Marketing segment.
    """
    catalog = ctx.catalog
    if catalog is None:
        return
    for model in ctx.project.public_models:
        real = catalog.columns.get(model.unique_id)
        if real is not None:
            yield from _drift(model, real, catalog.path)


def _drift(model: Model, real: tuple[str, ...], catalog: Path) -> Iterator[Violation]:
    relation = model.relation_name or model.display_name
    in_relation = {name.lower() for name in real}
    documented = {column.name.lower() for column in model.columns}
    for column in model.columns:
        if column.name.lower() not in in_relation:
            yield Violation(
                f"{model.display_name}.{column.name} is documented but {relation} has no such column "
                f"({catalog}); remove it from the YAML, or return it from the model's SQL and rebuild",
                model,
                column.name,
            )
    for name in real:
        if name.lower() not in documented:
            yield Violation(
                f"{relation} has column {name}, which the YAML of {model.display_name} does not list "
                f"({catalog}); document it under `columns:` (data_type, description, PII class), or drop it "
                "from the SQL",
                model,
                name,
            )


def read_catalog(project_dir: Path, project: Project, path: Path) -> tuple[Catalog | None, str | None]:
    """The catalog DM015 compares with, and the report's line on it; (None, None) when the project has none.

    A relation older than its model's SQL (edited since the last ``dbt docs generate``) says nothing about what
    the model returns now: it is left out, and the line names it, rather than judged on stale columns.
    """
    if not path.is_file():
        return None, None
    # Named from the project, as findings name files: the path a reviewer opens.
    catalog = replace(load_catalog(path), path=Path(_shown(project_dir, path)))
    generated = path.stat().st_mtime
    stale = [m for m in project.public_models if m.unique_id in catalog.columns and _newer(project_dir, m, generated)]
    if stale:
        kept = {node: columns for node, columns in catalog.columns.items() if node not in {m.unique_id for m in stale}}
        catalog = replace(catalog, columns=MappingProxyType(kept))
    return catalog, _note(catalog, project, [m.display_name for m in stale], _shown(project_dir, path))


def _newer(project_dir: Path, model: Model, than: float) -> bool:
    try:
        return (project_dir / model.original_file_path).stat().st_mtime > than
    except OSError:  # a file dbt names but we cannot see (a package elsewhere): the catalog is all we have
        return False


def _shown(project_dir: Path, path: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:  # a target path outside the project
        return str(path)


def _note(catalog: Catalog, project: Project, stale: list[str], shown: str) -> str:
    """What DM015 compared: the catalog's age, and the public models it could not judge, and why."""
    when = f", generated {catalog.generated_at:%Y-%m-%d %H:%M} UTC" if catalog.generated_at else ""
    public = project.public_models
    absent = [m.display_name for m in public if m.unique_id not in catalog.columns and m.display_name not in stale]
    line = (
        f"catalog: {shown} (dbt docs generate{when}): the columns of "
        f"{len(public) - len(absent) - len(stale)} public model(s) compared with their relations"
    )
    if stale:
        line += f"; older than their SQL (rebuild, then `dbt docs generate`): {', '.join(stale)}"
    if absent:
        line += f"; not in it (build them, then `dbt docs generate`): {', '.join(absent)}"
    return line
