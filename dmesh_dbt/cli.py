"""The dmesh-dbt command line: a thin click layer over the library.

Each command parses options, calls one library function, and renders its result. Errors from the library
(``DmeshError``) become a one-line message and an exit code in exactly one place, ``main``.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from dmesh_dbt import __version__
from dmesh_dbt.errors import DmeshError

console = Console()
err_console = Console(stderr=True)


class DmeshGroup(click.Group):
    """A click group that turns library errors into a one-line message and an exit code: the only place that does."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DmeshError as error:
            err_console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
            ctx.exit(error.exit_code)


@click.group(cls=DmeshGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dmesh-dbt")
def cli() -> None:
    """Self-serve data mesh on dbt: create domain projects, mask PII, enforce contracts, publish products."""


@cli.command()
@click.argument("domain")
@click.option(
    "--owner", metavar="EMAIL", help="Email of the team that owns the domain (default: DOMAIN-team@example.com)."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to create the project in (default: ./DOMAIN).",
)
@click.option(
    "--warehouse",
    type=click.Choice(["duckdb", "bigquery", "postgres"]),
    default="duckdb",
    show_default=True,
    help="Target selected by default in profiles.yml; every project also has the other targets.",
)
@click.option("--description", metavar="TEXT", help="One sentence on what the domain's data is about.")
@click.option("--no-examples", is_flag=True, help="Leave out the example seeds, models and tests.")
@click.option("--force", is_flag=True, help="Render into a directory that exists and is not empty.")
@click.option("--no-deps", is_flag=True, help="Do not run `dbt deps` after rendering.")
def init(
    domain: str,
    owner: str | None,
    directory: Path | None,
    warehouse: str,
    description: str | None,
    no_examples: bool,
    force: bool,
    no_deps: bool,
) -> None:
    """Create a dbt project for the data domain DOMAIN, ready for `dbt build`.

    DOMAIN is lowercase letters, digits and underscores, starting with a letter. The project has private
    staging models, public marts with enforced contracts, PII marked in column meta, a DuckDB `dev` target
    (the default), BigQuery `prod` and `postgres` targets, and CI that runs `dbt build` and `dmesh-dbt check`.
    """
    from dmesh_dbt.scaffold import InitOptions, init_project

    options = InitOptions(
        domain=domain,
        owner=owner,
        directory=directory,
        warehouse=warehouse,
        description=description,
        examples=not no_examples,
        force=force,
        run_deps=not no_deps,
    )
    with err_console.status(f"Rendering domain project {domain!r}..."):
        project = init_project(options)
    console.print(f"[green]Created[/green] dbt project for domain [bold]{domain}[/bold] in {project.path}")
    console.print(f"Next: cd {project.path} && dbt build")


@cli.command("package-dir")
def package_dir() -> None:
    """Print the directory of the `dmesh` dbt package shipped with this toolkit.

    Domain projects install it offline through `packages.yml`; point them at it with
    DMESH_PACKAGE_DIR="$(dmesh-dbt package-dir)" dbt deps
    """
    from dmesh_dbt.toolkit import dbt_package_dir

    click.echo(str(dbt_package_dir()))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dmesh-dbt")
