"""DM016: the domain builds with a template and a `dmesh` package no older than the mesh policy's minimum.

The platform raises ``minimum_versions`` in the mesh policy when a release must reach every domain (a new CI step,
a masking fix in the package); a domain below it is told to run `dmesh-dbt upgrade`. A warning by default: an old
template is not a boundary breach, and the platform decides when to make it an error.
"""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from dmesh_dbt import __version__
from dmesh_dbt import examples as ex
from dmesh_dbt.policy.engine import PolicyContext, Violation, rule

#: The fix each lagging part gets.
_FIXES = {
    "template": "run `dmesh-dbt upgrade` and commit the result",
    "dmesh_package": "install a newer dmesh-dbt, then `dmesh-dbt upgrade` and `dbt deps`",
}
_NAMES = {"template": "template", "dmesh_package": "dmesh dbt package"}


@rule(
    "DM016",
    "toolkit-current",
    examples=ex.Examples(
        fails=(ex.project(ex.model()),),
        passes=(ex.project(ex.model()),),
        failing_domain={"template_version": "0.0.1", "dmesh_package_version": "0.0.1"},
        passing_domain={"template_version": __version__, "dmesh_package_version": __version__},
    ),
)
def domain_builds_with_a_current_toolkit(ctx: PolicyContext) -> Iterator[Violation]:
    """The domain's template and `dmesh` package are at least the mesh policy's `minimum_versions`.

    Fails: ``.copier-answers.yml`` records ``_commit: 0.0.1`` while the mesh policy says::

        minimum_versions: {template: 0.1.0, dmesh_package: 0.1.0}

    Fixed::

        dmesh-dbt upgrade && dbt deps   # then commit
    """
    found = {"template": ctx.domain.template_version, "dmesh_package": ctx.domain.dmesh_package_version}
    for part, minimum in sorted(ctx.mesh.minimum_versions.items()):
        version = found.get(part)
        # Unknown: a project not made from the template has none to upgrade; a missing package fails dbt itself.
        if version is not None and Version(version) < Version(str(minimum)):
            yield Violation(
                f"domain {ctx.domain.name} builds with {_NAMES[part]} {version}, older than the mesh policy's "
                f"minimum {minimum} ({ctx.mesh.source}); {_FIXES[part]}"
            )
