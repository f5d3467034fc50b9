"""`check --include-packages` (installed packages' models as the project's own) and the readiness steps `check`
prints for a project with no public model (DM014)."""

from __future__ import annotations

from pathlib import Path

from msgspec.structs import replace

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Access
from dmesh_dbt.packages import installed_packages, with_packages
from dmesh_dbt.policy.engine import DomainConfig
from dmesh_dbt.readiness import readiness

#: The domain's own private model, and a public model of the sources package `stripe`.
OWN = ex.model("orders", access=Access.PRIVATE)
STRIPE = ex.model("stripe_customers", package="stripe")
PROJECT = ex.project(OWN, STRIPE)


def installed(project_dir: Path, *names: str, install_path: str = "dbt_packages") -> None:
    for name in names:
        (project_dir / install_path / name).mkdir(parents=True)
        (project_dir / install_path / name / "dbt_project.yml").write_text(f"name: {name}\n")


def test_only_packages_installed_with_models_are_included(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\n")
    assert installed_packages(PROJECT, tmp_path) == {}  # in the manifest, not on disk: e.g. injected by dbt-loom
    installed(tmp_path, "stripe", "dbt_utils")  # dbt_utils has no models in the manifest
    assert installed_packages(PROJECT, tmp_path) == {"stripe": "dbt_packages/stripe"}


def test_a_configured_install_path_is_followed(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\npackages-install-path: vendor/dbt\n")
    installed(tmp_path, "stripe", install_path="vendor/dbt")
    assert installed_packages(PROJECT, tmp_path) == {"stripe": "vendor/dbt/stripe"}


def test_included_package_models_are_own_and_named_from_the_project() -> None:
    assert [m.name for m in PROJECT.own_models] == ["orders"] and PROJECT.public_models == ()
    included = with_packages(PROJECT, {"stripe": "dbt_packages/stripe"})
    assert [m.name for m in included.own_models] == ["orders", "stripe_customers"]
    (public,) = included.public_models
    assert public.declared_in == "dbt_packages/stripe/models/_models.yml"
    assert public.original_file_path == "dbt_packages/stripe/models/stripe_customers.sql"


def test_readiness_orders_what_blocks_a_domain(tmp_path: Path) -> None:
    suspect = ex.with_columns(OWN, ex.KEY, ex.column("email"), ex.column("status"))
    steps = readiness(ex.project(suspect), tmp_path, DomainConfig("shop"))
    assert [s.split(":")[0] for s in steps] == [
        "no dmesh.yml",
        "the dmesh package is not in packages.yml",
        "no public model",
        "1 documented column(s) look like PII and have no class (orders.email)",
    ]
    assert "`dmesh-dbt scan`" in steps[-1] and "`dmesh-dbt adopt --public SELECTOR`" in steps[2]


def test_readiness_of_a_described_domain_with_the_package_and_no_suspects(tmp_path: Path) -> None:
    (tmp_path / "packages.yml").write_text("packages:\n  - local: ../dmesh\n")
    domain = DomainConfig("shop", path=tmp_path / "dmesh.yml")
    steps = readiness(ex.project(replace(OWN, columns=(ex.KEY,))), tmp_path, domain)
    assert [s.split(":")[0] for s in steps] == ["no owner", "no public model", "classify PII before publishing"]
    assert "dmesh-dbt scan" in steps[-1]


def test_adopt_s_blockers_are_check_s_steps_then_its_errors(tmp_path: Path) -> None:
    from dmesh_dbt.readiness import blockers
    from dmesh_dbt.report import Finding, Severity

    project = ex.project(replace(OWN, columns=(ex.KEY,)))
    placeholder = DomainConfig("shop", owner="shop-team@example.com", path=tmp_path / "dmesh.yml")
    publishes_nothing = Finding("DM014", Severity.WARNING, "shop publishes no model")
    failing = Finding("DM003", Severity.ERROR, "orders.customer_id has no description; add `description:`")
    warning = Finding("DM007", Severity.WARNING, "a warning blocks nothing")
    # Nothing public: check's own readiness steps, word for word, in its order, the placeholder owner first.
    assert blockers(project, tmp_path, placeholder, [publishes_nothing]) == readiness(project, tmp_path, placeholder)
    assert blockers(project, tmp_path, placeholder, [])[0].startswith("owner is the placeholder shop-team@example.com")
    # Something public: the descriptor's step, then each error check fails on; warnings are not blockers.
    owned = replace(placeholder, owner="shop-team@acme.test")
    assert blockers(project, tmp_path, owned, [failing, warning]) == [f"DM003 {failing.message}"]
