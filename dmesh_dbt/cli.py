"""The dmesh-dbt command line: a thin click layer over the library.

Each command parses options, calls one library function, and renders its result. Every failure becomes one line
on stderr and an exit code in exactly one place, ``DmeshGroup.invoke``: 1 for a refusal (policy), 2 for usage,
configuration, unreachable or corrupt input, 3 for a bug (the traceback only with ``--debug``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from dmesh_dbt import __version__
from dmesh_dbt.console import color_wanted, lazy_console, writes_plain
from dmesh_dbt.errors import DmeshError, UsageError

if TYPE_CHECKING:  # the CLI imports its use cases, renderers and dbt toolkit lazily, so that every command starts fast
    from dmesh_dbt.adopt import AdoptPlan
    from dmesh_dbt.artifacts import Project
    from dmesh_dbt.onboard import OnboardResult
    from dmesh_dbt.registry import ConsumerRecord
    from dmesh_dbt.report import Report, SourceRoot
    from dmesh_dbt.scan.scanner import ScanOptions
    from dmesh_dbt.toolkit import DbtFlags
    from dmesh_dbt.upgrade import UpgradeResult

# Made again by the group once --no-color is known; plain whenever they do not write to a terminal.
console = lazy_console(color=color_wanted())
err_console = lazy_console(stderr=True, color=color_wanted())


class DmeshCommand(click.Command):
    """A command whose summary in its group's --help is its whole first sentence, never cut with "..."."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return super().get_short_help_str(limit=1_000)


#: Exit code of an unexpected exception: a bug, not the user's input.
EXIT_BUG = 3


def escape(text: str) -> str:
    """rich's markup escape, imported when a line is printed (rich costs `--help` more than Python's start)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(_one_line(message))}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """One warning line on stderr (the command goes on)."""
    err_console.print(f"[yellow]warning:[/yellow] {escape(_one_line(message))}", highlight=False, soft_wrap=True)


class DmeshGroup(click.Group):
    """A click group that turns every failure into one line and an exit code: the only place that does."""

    command_class = DmeshCommand
    group_class = type  # subgroups are DmeshGroups too

    def get_short_help_str(self, limit: int = 45) -> str:
        return super().get_short_help_str(limit=1_000)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except DmeshError as error:
            _error(str(error))
            ctx.exit(error.exit_code)
        except click.ClickException as error:  # bad options or arguments of a subcommand
            failed = getattr(error, "ctx", None) or ctx
            _error(f"{error.format_message().rstrip('.')}; see `{failed.command_path} --help`")
            ctx.exit(2)
        except OSError as error:  # the file system refused: name the file, exit as for bad input
            where = f" {error.filename}" if error.filename else ""
            _error(f"cannot use{where}: {error.strerror or error}; check the path, its permissions and free space")
            ctx.exit(2)
        except Exception as error:
            if ctx.meta.get(_DEBUG):
                raise
            _error(
                f"unexpected {type(error).__name__}: {error} (a bug in dmesh-dbt {__version__}); "
                "run again with `dmesh-dbt --debug ...` for the traceback and report it"
            )
            ctx.exit(EXIT_BUG)
        return None


_DEBUG = "dmesh.debug"


def _set_debug(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    ctx.meta[_DEBUG] = value
    return value


# One instance of each path type, shared by every option that takes it, as click's own types are: each
# click.Path() looks its name up in gettext's catalogues (a dozen stat calls), which cost every command 0.2 ms
# per option made at import (issue 16: start-up time).
_DIRECTORY = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, path_type=Path)


@click.group(cls=DmeshGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dmesh-dbt")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the traceback of an unexpected error (exit 3) instead of one line.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="Print no colours or styles, as when NO_COLOR is set or the output is not a terminal.",
)
def cli(no_color: bool) -> None:
    """Self-serve data mesh on dbt: create domain projects, mask PII, enforce contracts, publish products."""
    global console, err_console, out
    color = color_wanted(no_color)
    console = lazy_console(color=color)
    err_console = lazy_console(stderr=True, color=color)
    out = lazy_console(color=color, soft_wrap=True)


@cli.command()
@click.argument("domain")
@click.option(
    "--owner",
    metavar="EMAIL",
    help="Email of the team that owns the domain. Asked for on a terminal; elsewhere a placeholder "
    "(DOMAIN-team@example.com) that must be replaced before `publish`.",
)
@click.option(
    "--dir",
    "directory",
    type=_DIRECTORY,
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
    from dmesh_dbt.project import placeholder_owner
    from dmesh_dbt.scaffold import InitOptions, init_project, validate_domain_name

    if owner is None and sys.stdin.isatty():
        validate_domain_name(domain)  # before asking anything
        owner = click.prompt("Email of the team that owns the domain", default=placeholder_owner(domain))
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
    if owner is None or owner == placeholder_owner(domain):
        placeholder = placeholder_owner(domain)
        console.print(
            f"[yellow]Owner:[/yellow] wrote the placeholder {placeholder} into dmesh.yml and models/groups.yml; "
            "replace it with the owning team's email (`publish` refuses it), or pass --owner EMAIL",
            soft_wrap=True,
        )
    console.print(f"Next: cd {project.path} && dbt build")


@cli.command("package-dir")
def package_dir() -> None:
    """Print the directory of the `dmesh` dbt package shipped with this toolkit.

    Domain projects install it offline through `packages.yml`; point them at it with
    DMESH_PACKAGE_DIR="$(dmesh-dbt package-dir)" dbt deps
    """
    from dmesh_dbt.toolkit import dbt_package_dir

    click.echo(str(dbt_package_dir()))


#: Lines of product commands never wrap: they hold paths, relations and refs that users copy.
out = lazy_console(color=color_wanted(), soft_wrap=True)

_PROJECT_DIR = click.option(
    "--project-dir",
    type=_DIRECTORY,
    default=Path("."),
    show_default=True,
    help="The domain's dbt project (it holds dbt_project.yml and dmesh.yml).",
)
_REGISTRY = click.option(
    "--registry",
    metavar="URL",
    help="Registry directory or s3:// / gs:// URL (default: $DMESH_REGISTRY, else `registry:` in dmesh.yml).",
)
_TARGET = click.option("--target", metavar="T", help="dbt target in profiles.yml (default: the profile's default).")
_PROFILES_DIR = click.option(
    "--profiles-dir",
    type=_DIRECTORY,
    help="Where dbt's profiles.yml is (default, as dbt: $DBT_PROFILES_DIR, else the project if it has one, "
    "else ~/.dbt).",
)
_VARS = click.option(
    "--vars", "dbt_vars", metavar="YAML", help="dbt variables as a YAML mapping, passed to every dbt run (as dbt's)."
)


def _set_target_path(_: click.Context, __: click.Parameter, value: str | None) -> None:
    """dbt reads --target-path before $DBT_TARGET_PATH: setting the variable for this process gives the same path
    to dmesh-dbt's own reading of the artifacts (``project.target_dir``) and to every dbt run it starts."""
    if value:
        from dmesh_dbt.project import TARGET_PATH_ENV

        os.environ[TARGET_PATH_ENV] = value


_TARGET_PATH = click.option(
    "--target-path",
    metavar="PATH",
    expose_value=False,
    callback=_set_target_path,
    help="Where dbt writes its artifacts, relative to the project (default, as dbt: $DBT_TARGET_PATH, else "
    "`target-path:` in dbt_project.yml, else target/).",
)
_FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


@cli.group()
def key() -> None:
    """Masking keys: provision them where the build must not carry them in SQL (BigQuery)."""


@key.command("install")
@_PROJECT_DIR
@_TARGET
def key_install(project_dir: Path, target: str | None) -> None:
    """Write the HMAC pads of DMESH_MASKING_KEY (and DMESH_MESH_KEY, when set) to the target's private key table.

    For BigQuery targets, whose builds then read the table and never see a key: the pads travel as the data of a
    load job of the client library, so no SQL text, dbt log or job's query holds them. Run it again after rotating
    a key. Weak keys are refused outside the `dev` target, as the build refuses them.
    """
    import os

    from dmesh_dbt.keys import install_keys, resolve_masking_keys
    from dmesh_dbt.project import resolve_target

    resolved = resolve_target(project_dir, target)
    keys = resolve_masking_keys(resolved.name, os.environ)
    table = install_keys(resolved, keys)
    scopes = ", ".join(scope.value for scope in sorted(keys))
    out.print(f"[green]Installed[/green] the {scopes} key(s) of target {resolved.name} in {escape(table)}")


@cli.command()
@_PROJECT_DIR
@_REGISTRY
@_TARGET
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@click.option(
    "--inspect-rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    metavar="N",
    help="Rows sampled from each published relation for the release inspection (all rows when it has fewer; "
    "on DuckDB also the rarest values of each column).",
)
def publish(
    project_dir: Path,
    registry: str | None,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    inspect_rows: int,
) -> None:
    """Publish the domain's public models to the registry as release `version` (from dbt_project.yml).

    Refuses unless the last `dbt build` built every public model and passed its tests, `dmesh-dbt check`
    passes, and the release inspection finds no raw PII (email, card, IBAN, SSN, phone, IP) anywhere inside
    the sampled values of each published relation (exit 1, nothing written). Writes one ODCS v3 contract per
    public model version and a dbt-loom manifest, all pointing at the masked published relations. Publishing
    the same content again changes nothing; a published version never changes (bump `version` to publish
    something else).
    """
    from dmesh_dbt.check import require_passing_check
    from dmesh_dbt.project import dbt_flags
    from dmesh_dbt.publish import publish as publish_release

    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    result = publish_release(
        project_dir, registry, target, passing_check=require_passing_check, inspect_rows=inspect_rows, flags=flags
    )
    release = result.release
    verb = "Published" if result.outcome == "published" else "Already published, unchanged:"
    out.print(f"[green]{verb}[/green] {release.domain} {release.version} to {escape(result.registry)}")
    for contract in result.contracts:
        entry = release.product(contract.product, contract.model_version)
        rows = "" if entry is None or entry.rows is None else f", snapshot of {entry.rows:,} rows"
        out.print(f"  {contract.ref:<28} {escape(str(contract.relation))}  ({len(contract.columns)} columns{rows})")


@cli.command()
@click.argument("product", metavar="DOMAIN.PRODUCT[@VERSION]")
@_PROJECT_DIR
@_REGISTRY
@_TARGET
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@click.option("--dbt-loom", is_flag=True, help="Also write dbt_loom.config.yml pointing at the producer's manifest.")
def consume(
    product: str,
    project_dir: Path,
    registry: str | None,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    dbt_loom: bool,
) -> None:
    """Read another domain's data product in this project, and record this domain as its consumer.

    Writes models/consumed/DOMAIN.yml (a dbt source with the contract's columns, types and freshness); between
    DuckDB domains, fetches the release's verified data snapshot into .dmesh/ and attaches a read-only catalog of
    views over it to the DuckDB target in the profiles.yml dbt reads (never the producer's warehouse; --vars
    render its var() calls, as dbt's do); and records the columns this project's models read (every column until
    they are compiled; `dmesh-dbt check` after each `dbt build` records them again).
    Without @VERSION the latest model version is read; @VERSION pins one. It refuses to move a source to a
    version that lacks a column this project's models read.
    """
    from dmesh_dbt.consume import consume as consume_product
    from dmesh_dbt.contracts import parse_product_ref
    from dmesh_dbt.project import dbt_flags

    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    result = consume_product(project_dir, parse_product_ref(product), registry, target, dbt_loom, flags)
    record = result.record
    out.print(
        f"[green]Consuming[/green] {result.contract.ref} (release {result.release.version}) "
        f"as {escape(result.source_call)}"
    )
    out.print(f"  sources:  {result.sources_file}")
    if result.attached is not None:
        shown = escape(str(result.attached.relative_to(project_dir.resolve())))
        out.print(f"  snapshot: {shown} attached as {result.contract.domain} (read only, release data)")
    if result.loom_config is not None:
        out.print(f"  dbt-loom: {result.loom_config}")
    if len(record.columns) == len(result.contract.columns):
        reads = "every column (until its models compile: `dmesh-dbt check` after `dbt build` records those they read)"
    else:
        reads = ", ".join(record.columns) or "no columns"
    out.print(f"  recorded: {record.consumer} reads {reads}")


@cli.group()
def registry() -> None:
    """Browse the data-product registry."""


@registry.command("list")
@_REGISTRY
@_PROJECT_DIR
@_FORMAT
def registry_list(registry: str | None, project_dir: Path, output_format: str) -> None:
    """List every domain's latest release, the products it publishes, and the template and `dmesh` package
    versions it was built with; a domain built with older ones than this toolkit's is marked `behind`
    (`dmesh-dbt upgrade` brings it up to date)."""
    import json

    from dmesh_dbt.project import registry_url
    from dmesh_dbt.registry import BuiltWith, Registry

    store = Registry.open(registry_url(project_dir, registry))
    listing = store.listing()
    releases = listing.releases
    for corrupt in listing.corrupt:  # the rest of the registry is listed: only these entries are unreadable
        warn(str(corrupt))
    behind = {r.domain: (r.built_with or BuiltWith()).behind(__version__) for r in releases}
    if output_format == "json":
        documents = [{**r.to_json(), "behind": behind[r.domain]} for r in releases]
        click.echo(
            json.dumps({"registry": store.url, "platform_version": __version__, "releases": documents}, indent=2)
        )
        return
    out.print(f"Registry {escape(store.url)}: {len(releases)} domain(s); platform version {__version__}")
    for release in releases:
        products = ", ".join(f"{release.domain}.{p.ref}" for p in release.products)
        out.print(f"  {release.domain:<16} {release.version:<10} {escape(release.owner)}  {products}")
        built = release.built_with or BuiltWith()
        versions = f"template {built.template or 'unknown'}, dmesh package {built.dmesh_package or 'unknown'}"
        lag = (
            f"  [yellow]behind: {escape(', '.join(behind[release.domain]))}[/yellow]" if behind[release.domain] else ""
        )
        out.print(f"  {'':<16} built with {versions}{lag}", highlight=False)


@registry.command("transfer")
@click.argument("domain")
@click.option(
    "--to-project-id",
    "project_id",
    required=True,
    metavar="ID",
    help="The project id (`project_id:` in its dmesh.yml) that owns DOMAIN from now on.",
)
@_REGISTRY
@_PROJECT_DIR
def registry_transfer(domain: str, project_id: str, registry: str | None, project_dir: Path) -> None:
    """Give DOMAIN to another project (a platform decision): only that project may publish it from now on.

    A domain's name belongs to the project that first published it; another project publishing under that name
    is refused. Run this when a domain really changes hands, or to restore a corrupt ownership record.
    """
    from dmesh_dbt.project import registry_url
    from dmesh_dbt.registry import Registry

    store = Registry.open(registry_url(project_dir, registry))
    previous = store.transfer_domain(domain, project_id)
    out.print(f"[green]Transferred[/green] {domain} in {escape(store.url)} from {previous or 'nobody'} to {project_id}")


@registry.command("show")
@click.argument("product", metavar="DOMAIN.PRODUCT[@VERSION]")
@_REGISTRY
@_PROJECT_DIR
@_FORMAT
def registry_show(product: str, registry: str | None, project_dir: Path, output_format: str) -> None:
    """Show a product's published contract: relation, columns, owner, freshness, and its consumers."""
    import json

    from dmesh_dbt.consume import describe_product
    from dmesh_dbt.contracts import parse_product_ref
    from dmesh_dbt.project import registry_url
    from dmesh_dbt.registry import Registry

    store = Registry.open(registry_url(project_dir, registry))
    description = describe_product(store, parse_product_ref(product))
    for corrupt in description.corrupt_consumers:
        warn(str(corrupt))
    document = description.to_json()
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    out.print(f"[bold]{document['product']}[/bold]  release {document['release']}  owner {escape(document['owner'])}")
    out.print(f"  {escape(document['description'])}")
    out.print(f"  relation {escape(document['relation'])} on {document['server']['type']}")
    columns = document["columns"]
    # Each column as wide as its longest entry: type names run from `date` to `double precision` and longer.
    name_width = max((len(c["name"]) for c in columns), default=0)
    type_width = max((len(c["type"]) for c in columns), default=0)
    for column in columns:
        key = "key" if column["primary_key"] else ""
        pii = f"pii={column['pii']} masked by {column['masking']}" if column["pii"] else ""
        line = f"    {column['name']:<{name_width}}  {column['type']:<{type_width}}  {key:<3}  {pii}"
        out.print(escape(line.rstrip()), highlight=False)
    consumers = description.consumers
    readers = [
        f"{r.consumer}{f' reads v{r.version}' if r.version else ''} ({', '.join(r.columns)})"
        for r in sorted(consumers, key=lambda r: r.consumer)
    ]
    out.print(f"  consumers: {'; '.join(readers) or 'none recorded'}")


@cli.command()
@_REGISTRY
@_PROJECT_DIR
@click.option(
    "--out",
    "out_dir",
    type=_DIRECTORY,
    default=Path("catalog"),
    show_default=True,
    help="Directory to write the site into (replaced whole once every page is written).",
)
@click.option("--serve", is_flag=True, help="Serve the site on 127.0.0.1 after building it, until Ctrl-C.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port for --serve.")
@_FORMAT
def catalog(registry: str | None, project_dir: Path, out_dir: Path, serve: bool, port: int, output_format: str) -> None:
    """Render the mesh catalog: a static site of every domain, product, contract, consumer and PII flow.

    Built from the registry alone: a mesh page with a graph of domains, products and consuming domains, a page
    per product version (contract, masking, consumers, how to consume it, release history with classified
    changes), a PII map and search. Plain HTML with no network fetch: open index.html from disk or copy the
    directory to any static host.
    """
    import json

    from dmesh_dbt.catalog import build_catalog
    from dmesh_dbt.project import registry_url
    from dmesh_dbt.registry import Registry

    store = Registry.open(registry_url(project_dir, registry))
    summary = build_catalog(store, out_dir, _announcer("catalog"))
    for corrupt in summary.corrupt:
        warn(str(corrupt))
    if output_format == "json":
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        out.print(
            f"Catalog of {summary.domains} domain(s), {summary.products} product version(s) and "
            f"{summary.pii_classes} PII class(es): {escape(str(summary.out / 'index.html'))}"
        )
    if serve:
        _serve(summary.out, port)


def _serve(directory: Path, port: int) -> None:
    """Serve ``directory`` on 127.0.0.1 only, until interrupted."""
    import contextlib
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        click.echo(f"Serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


_REPORT_FORMATS = ("text", "json", "github", "sarif", "junit")


def _emit_report(ctx: click.Context, report: Report, output_format: str, output: Path | None) -> None:
    """Print or write (atomically) a check/diff report, then exit 1 when it has failing findings."""
    from dmesh_dbt.files import write_atomically
    from dmesh_dbt.render import render

    if output is not None:
        write_atomically(output, render(report, output_format))
        message = f"{report.command}: wrote {output_format} report to {output}"
        err_console.print(message, highlight=False, soft_wrap=True)
    elif output_format != "text" or writes_plain():  # render's defaults: no colour, never wrapped; no rich loaded
        click.echo(render(report, output_format), nl=False)
    else:
        color = console.color_system is not None
        click.echo(render(report, output_format, color=color, width=console.width), nl=False)
    ctx.exit(report.exit_code)


def _announcer(command: str) -> Callable[[str], None]:
    """Where a command says, on stderr, what it does first and why (e.g. why it runs `dbt parse`)."""
    return lambda line: click.echo(f"{command}: {line}", err=True)


def _policy_option(what_it_changes: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--policy FILE, as check and scan take it: the platform's mesh policy."""
    return click.option(
        "--policy",
        "policy_file",
        type=_FILE,
        envvar="DMESH_POLICY_FILE",
        help="The platform's mesh policy file, outside the domain project (default: $DMESH_POLICY_FILE, else the "
        f"policy shipped with dmesh-dbt). {what_it_changes}",
    )


def _sample_rows(default: int, help_text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--sample-rows N, as scan and adopt take it."""
    return click.option(
        "--sample-rows", type=click.IntRange(min=0), default=default, show_default=True, metavar="N", help=help_text
    )


_REPO_ROOT = click.option(
    "--repo-root",
    type=_DIRECTORY,
    help="The repository root that github, sarif and junit paths are relative to (default: git's root of the "
    "project, else the project).",
)


#: The report formats whose paths are the repository's (code scanning, CI test reports), not the project's.
_REPO_PATH_FORMATS = ("github", "sarif", "junit")


def _source_root(project_dir: Path, repo_root: Path | None, output_format: str) -> SourceRoot | None:
    """The repository root a report's paths are relative to, for the formats that name such paths; text and JSON
    name paths in the project, so they cost no `git rev-parse`. An explicit --repo-root is checked whatever the
    format, before any dbt run or reading, so a bad one exits 2 at once."""
    if repo_root is None and output_format not in _REPO_PATH_FORMATS:
        return None
    from dmesh_dbt.source_root import find_source_root

    return find_source_root(project_dir, repo_root)


def report_options(command: Callable[..., None]) -> Callable[..., None]:
    """--format and --output, shared by the commands that print a Report (check, diff)."""
    command = click.option("--output", type=_FILE, help="Write the report to FILE.")(command)
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(_REPORT_FORMATS),
        default="text",
        show_default=True,
        help="Report format: text, json, GitHub annotations, SARIF 2.1.0 or JUnit XML.",
    )(command)


@cli.command()
@click.option(
    "--project-dir",
    type=_DIRECTORY,
    default=Path("."),
    show_default=True,
    help="The domain's dbt project. `dbt parse` runs first when its manifest (dbt's target path) is stale.",
)
@click.option(
    "--state",
    type=_EXISTING,
    help="Directory (or file) holding the previous manifest.json to check breaking changes against.",
)
@click.option(
    "--registry",
    metavar="URL",
    help="Registry whose last published release of this domain is the baseline (and lists its consumers). "
    "Default: $DMESH_REGISTRY, else `registry:` in dmesh.yml (unless --state is given).",
)
@report_options
@click.option(
    "--sample-rows",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also sample N rows of every relation and flag public columns (and published relations) whose values "
    "look like unclassified PII. Default 0: names only.",
)
@click.option("--sample", "sample_alias", type=click.IntRange(min=0), hidden=True, help="Old name of --sample-rows.")
@click.option("--target", metavar="T", help="dbt target to parse and sample with (default: the profile's default).")
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@_policy_option("Only it can change the locked rules and the scan's thresholds.")
@_REPO_ROOT
@click.option(
    "--include-packages",
    is_flag=True,
    help="Also check the models of installed packages (dbt deps) as the project's own; default: only its own.",
)
@click.option("--list-rules", is_flag=True, help="Print every rule and change kind with its id and exit.")
@click.option("--verbose", is_flag=True, help="List every change from the baseline, additive ones too.")
@click.pass_context
def check(
    ctx: click.Context,
    project_dir: Path,
    state: Path | None,
    registry: str | None,
    output_format: str,
    output: Path | None,
    sample_rows: int,
    sample_alias: int | None,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    policy_file: Path | None,
    repo_root: Path | None,
    include_packages: bool,
    list_rules: bool,
    verbose: bool,
) -> None:
    """Enforce the mesh policy and block breaking changes of the domain's public models.

    Runs the policy rules (DMxxx) on the manifest in dbt's target path and, with --state or --registry, classifies
    every change against the previous manifest (BCxxx breaking, ACxxx additive). A breaking change passes only as a
    new model version; PII leaks never pass. Severities come from the mesh policy and the `policy:` section of
    dmesh.yml; `waivers:` there waive single findings until their expiry. Exit 0 clean, 1 violations,
    2 usage or configuration error.
    """
    from msgspec.structs import replace

    from dmesh_dbt.check import (
        NO_BASELINE,
        baseline_from_registry,
        baseline_from_state,
        no_release_yet,
        rules_listing,
        run_check,
    )
    from dmesh_dbt.project import dbt_flags, find_registry_url, resolve_target

    if list_rules:
        click.echo(rules_listing(), nl=False)
        return
    if state is not None and registry is not None:
        raise UsageError("pass either --state or --registry, not both")
    if sample_alias is not None and ctx.get_parameter_source("sample_rows") is ParameterSource.DEFAULT:
        sample_rows = sample_alias
    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    if target is not None:
        resolve_target(project_dir, target, flags)  # an unknown --target is an error even without --sample-rows
    source_root = _source_root(project_dir, repo_root, output_format)
    baseline = baseline_from_state(state) if state is not None else None
    # An explicit --state wins over $DMESH_REGISTRY and dmesh.yml.
    registry = None if state is not None else find_registry_url(project_dir, registry)
    no_baseline = NO_BASELINE
    if registry is not None:
        baseline = baseline_from_registry(registry, project_dir)
        no_baseline = no_release_yet(registry, project_dir)
    report = run_check(
        project_dir,
        baseline,
        sample_rows=sample_rows,
        target=target,
        verbose=verbose,
        no_baseline=no_baseline,
        policy_file=policy_file,
        announce=_announcer("check"),
        flags=flags,
        include_packages=include_packages,
    )
    report = replace(report, source_root=source_root)
    # Everything the check built (manifest, lineage, traces: half a million objects at 5,000 models) lives until
    # the process ends: frozen, the collector skips it, so the full collection at interpreter exit (and any while
    # rendering) does not walk it again (a quarter of a warm 5,000-model check). Nothing is skipped: objects are
    # still freed by reference counting, and every write and flush runs as before.
    import gc

    gc.freeze()
    # A consumer's check after its build records the columns its models now read, for its producers' checks.
    for record in _recorded_reads(project_dir):
        product = f"{record.domain}.{record.product}" + (f"@{record.version}" if record.version else "")
        line = f"check: recorded that {record.consumer} reads {', '.join(record.columns)} of {product}"
        err_console.print(line, highlight=False, soft_wrap=True)
    _emit_report(ctx, report, output_format, output)


def _recorded_reads(project_dir: Path) -> list[ConsumerRecord]:
    from dmesh_dbt.project import consumes_products

    if not consumes_products(project_dir):
        return []  # and the registry, contracts and snapshots it would load stay unloaded
    from dmesh_dbt.consume import record_reads

    return record_reads(project_dir)


@cli.command()
@click.argument("old", type=_EXISTING)
@click.argument("new", type=_EXISTING)
@report_options
@_REPO_ROOT
@click.pass_context
def diff(
    ctx: click.Context, old: Path, new: Path, output_format: str, output: Path | None, repo_root: Path | None
) -> None:
    """List the classified changes from OLD to NEW: breaking (BCxxx) and additive (ACxxx).

    OLD and NEW are dbt manifests (manifest.json, or a directory holding one). Exit 1 when a breaking change
    is not released as a new model version, else 0. File paths are those of the dbt project holding NEW (the
    nearest folder above it with dbt_project.yml, else the current directory).
    """
    from msgspec.structs import replace

    from dmesh_dbt.check import run_diff
    from dmesh_dbt.source_root import project_of

    source_root = _source_root(project_of(new), repo_root, output_format)
    _emit_report(ctx, replace(run_diff(old, new), source_root=source_root), output_format, output)


@cli.command()
@_PROJECT_DIR
@_TARGET
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@_sample_rows(0, "Also sample N rows of every relation on the target and check the values (0: names only).")
@click.option("--select", "selector", metavar="SELECTOR", help="Scan only the nodes this dbt selector picks.")
@click.option("--write", is_flag=True, help="Add `meta: {pii: <class>}` for each suspect to the YAML documenting it.")
@click.option(
    "--include-packages",
    is_flag=True,
    help="Also scan the models and sources of installed packages (dbt deps); --write never edits them.",
)
@click.option(
    "--explain",
    "explain_spec",
    metavar="RELATION.COLUMN",
    help="Print the evidence and score for one column (e.g. customers.email) instead of scanning; exit 0.",
)
@_policy_option(
    "Its `scan: {report, classify}` thresholds apply; a `scan:` section of dmesh.yml may only make them stricter."
)
@_FORMAT
@click.pass_context
def scan(
    ctx: click.Context,
    project_dir: Path,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    sample_rows: int,
    selector: str | None,
    write: bool,
    include_packages: bool,
    explain_spec: str | None,
    policy_file: Path | None,
    output_format: str,
) -> None:
    """Find PII columns that no `meta: {pii: ...}` classifies, by name and (with --sample-rows) by value.

    Every column of every model, seed and source is scored by its name and description; sampled values are
    checked with validators (Luhn, mod-97, ABA, SSN ranges, phone numbering plans, ...). Reports show counts
    and rates, never values. Exit 1 while unclassified suspects remain, else 0.
    """
    from dmesh_dbt.artifacts import load_manifest
    from dmesh_dbt.policy.mesh import scan_thresholds
    from dmesh_dbt.project import dbt_flags, ensure_manifest, resolve_target
    from dmesh_dbt.scan.report import as_json, print_text
    from dmesh_dbt.scan.scanner import ScanOptions, scan_project

    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    thresholds = scan_thresholds(project_dir, policy_file)  # a bad policy exits 2 before any dbt run
    if target is not None:
        resolve_target(project_dir, target, flags)  # an unknown --target is an error even when nothing is sampled
    # Compiled, when stale: the classes public columns inherit through lineage are suspects too.
    manifest = ensure_manifest(project_dir, _announcer("scan"), compiled=True, flags=flags, target=target)
    project = load_manifest(manifest)
    if explain_spec is not None and (write or selector):
        raise click.UsageError("--explain shows one column: it takes neither --write nor --select")
    options = ScanOptions(
        project_dir,
        target,
        sample_rows,
        selector,
        flags,
        thresholds=thresholds,
        include_packages=include_packages,
        lineage_cache_dir=manifest.parent,
    )
    if explain_spec is not None:
        _explain(project, options, explain_spec, output_format)
        return
    result = scan_project(project, options)
    written = None
    if write:  # the YAML editor (ruamel) loads only for --write
        from dmesh_dbt.scan.write import write_classifications

        written = write_classifications(project_dir, project, result.suspects, thresholds.classify)
    if output_format == "json":
        click.echo(as_json(result, written))
    else:
        print_text(console, result, written)
    unresolved = len(written.skipped) if written is not None else len(result.suspects)
    ctx.exit(1 if unresolved or result.leaks else 0)


@cli.command()
@_PROJECT_DIR
@click.option(
    "--public", metavar="SELECTOR", help="dbt selector of the models to publish (default: those already public)."
)
@click.option("--owner", metavar="EMAIL", help="Email address of the owning team, written to dmesh.yml.")
@click.option(
    "--group",
    metavar="NAME",
    help="Also define the dbt group NAME (owner: --owner, else dmesh.yml's) in _groups.yml and put the public "
    "models in it.",
)
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff and write nothing.")
@_sample_rows(100, "Sample N rows of each relation for the PII classes (0: names and lineage only).")
@_TARGET
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@_FORMAT
def adopt(
    project_dir: Path,
    public: str | None,
    owner: str | None,
    group: str | None,
    dry_run: bool,
    sample_rows: int,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    output_format: str,
) -> None:
    """Turn an existing dbt project into a mesh domain, editing only what it must.

    Writes dmesh.yml (the domain is the dbt project's name), adds the dmesh package and its on-run-start hook,
    and on each model --public selects: access public (with --group, its group too), an enforced contract, the
    publish post-hook, every column's data_type from the warehouse (`dbt docs generate`; run `dbt build` first)
    and, fail-closed, `meta: {pii: <class>}` on every column `scan` suspects (by name, sampled values and
    lineage), with the evidence in a comment. Then prints what still blocks `check` (with --format json, one
    JSON document: the files, the classes and types written, the blockers). Running it again changes nothing.
    """
    from dmesh_dbt.adopt import AdoptOptions, adoption_json, apply_adoption, plan_adoption, read_adoptable
    from dmesh_dbt.policy.mesh import scan_thresholds
    from dmesh_dbt.project import dbt_flags
    from dmesh_dbt.scan.scanner import ScanOptions, adoption_suspects

    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    options = AdoptOptions(project_dir, public, owner, target, flags, group)
    _announcer("adopt")("running `dbt docs generate` for the columns and types the warehouse has")
    adoptable = read_adoptable(options)
    # The platform's thresholds ($DMESH_POLICY_FILE), as scan applies them: values-only suspects it would report.
    thresholds = scan_thresholds(project_dir)
    scan_options = ScanOptions(project_dir, target, sample_rows, None, options.flags, thresholds=thresholds)
    suspects = adoption_suspects(adoptable.project, scan_options, set(adoptable.public_ids))
    plan = plan_adoption(options, adoptable, suspects)
    if output_format == "text":
        _print_adoption_changes(plan, project_dir, dry_run)
    if not dry_run:
        apply_adoption(plan, options)
    blockers = list(plan.blockers)  # what adopt could not edit; then what readiness.py says blocks `check`
    if dry_run:
        blockers.extend(_planned_blockers(plan, adoptable.project, project_dir))
        blockers.append("dry run: what `check` says is known once the changes are written (run without --dry-run)")
    else:
        blockers.extend(_check_blockers(project_dir, options.flags, target))
    if output_format == "json":
        click.echo(adoption_json(plan, project_dir, blockers, dry_run))
        return
    out.print(f"Domain {plan.domain}; public models: {', '.join(plan.public_models) or 'none'}", highlight=False)
    if not blockers:
        out.print("[green]Ready:[/green] nothing blocks `dmesh-dbt check`; run `dbt build`, then check and publish")
        return
    out.print("Still blocking `dmesh-dbt check` (in this order):")
    for number, blocker in enumerate(blockers, 1):
        out.print(f"  {number}. {escape(blocker)}", highlight=False, soft_wrap=True)


def _print_adoption_changes(plan: AdoptPlan, project_dir: Path, dry_run: bool) -> None:
    for change in plan.changes:
        if dry_run:
            click.echo(change.diff(project_dir.resolve()), nl=False)
        else:
            out.print(f"adopt: wrote {escape(str(change.path.relative_to(project_dir.resolve())))}", highlight=False)
    if not plan.changes:
        out.print("adopt: nothing to change", highlight=False)


@cli.command()
@_PROJECT_DIR
@click.option("--to", "to_version", metavar="VERSION", help="Template version to upgrade to (default: this toolkit's).")
@click.option("--dry-run", is_flag=True, help="Print the diff the upgrade would make and write nothing.")
@click.option(
    "--force", is_flag=True, help="Upgrade despite uncommitted changes (files with uncommitted edits are refused)."
)
@_FORMAT
def upgrade(project_dir: Path, to_version: str | None, dry_run: bool, force: bool, output_format: str) -> None:
    """Bring the domain project to this toolkit's template version, keeping the domain's own edits.

    Copier's three-way update: the template version the project was made from (`_commit` in
    .copier-answers.yml), the target version, and the project as committed. Where both the domain and the
    template changed the same lines, the file keeps both between conflict markers and is listed (exit 1).
    The project must be a committed git work tree. Running it again changes nothing.
    """
    import json

    from dmesh_dbt.upgrade import UpgradeOptions, upgrade_project

    with err_console.status("Upgrading the domain project..."):
        result = upgrade_project(UpgradeOptions(project_dir, to_version, dry_run, force))
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_upgrade(result)
    if result.conflicts:
        raise click.exceptions.Exit(1)


def _print_upgrade(result: UpgradeResult) -> None:
    if result.up_to_date:
        out.print(f"upgrade: already at template {result.to_version}; nothing to change", highlight=False)
        return
    if result.dry_run:
        click.echo(result.diff, nl=False)
    verb = "would change" if result.dry_run else "changed"
    out.print(
        f"upgrade: template {result.from_version} -> {result.to_version}, {verb} {len(result.changes)} file(s)",
        highlight=False,
    )
    if not result.dry_run:
        for change in result.changes:
            out.print(f"  {change.status} {escape(change.path)}", highlight=False)
    for conflict in result.conflicts:
        out.print(f"[red]conflict[/red] {escape(conflict.path)}: {escape(conflict.hint)}", soft_wrap=True)
    if not result.dry_run and not result.conflicts:
        out.print("Review with `git diff`, run `dbt deps && dbt build`, then commit.", highlight=False)


@cli.command()
@click.argument("source_schema")
@click.option(
    "--table", "tables", metavar="NAME", multiple=True, help="Onboard only this table (repeat for more; default: all)."
)
@_PROJECT_DIR
@_TARGET
@_PROFILES_DIR
@_VARS
@_TARGET_PATH
@click.option(
    "--sample-rows",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    metavar="N",
    help="Sample N rows of each table so values can point at PII classes too (0: names only).",
)
@click.option(
    "--loaded-at",
    metavar="COL",
    help="The column holding when the loader wrote each row, for the freshness block (default: detected by "
    "name and type, e.g. _loaded_at, _fivetran_synced).",
)
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff; write and build nothing.")
@_FORMAT
def onboard(
    source_schema: str,
    tables: tuple[str, ...],
    project_dir: Path,
    target: str | None,
    profiles_dir: Path | None,
    dbt_vars: str | None,
    sample_rows: int,
    loaded_at: str | None,
    dry_run: bool,
    output_format: str,
) -> None:
    """Turn the raw tables of SOURCE_SCHEMA into typed, documented, PII-marked staging models, and build them.

    Reads each table's columns and types through the dbt target, samples values, and writes a sources entry
    per table (every column, its type, a freshness block when a load timestamp column exists, proposed PII
    classes with their evidence), a private staging model `models/staging/<source>/stg_<source>__<table>.sql`
    and its properties file; then runs `dbt build --select` on them. Running it again changes nothing; a file
    you edited is kept and what differs is shown.
    """
    from dmesh_dbt.onboard import OnboardOptions, OnboardResult, apply_onboarding, as_json, plan_onboarding
    from dmesh_dbt.project import dbt_flags

    flags = dbt_flags(project_dir, profiles_dir, dbt_vars)
    options = OnboardOptions(project_dir, source_schema, tables, target, flags, sample_rows, loaded_at)
    with err_console.status(f"onboard: reading and sampling {source_schema} through dbt"):
        plan = plan_onboarding(options)
    if dry_run:
        result = OnboardResult(plan, (), ())
    else:
        with err_console.status("onboard: writing and building the staging models"):
            result = apply_onboarding(plan, options)
    if output_format == "json":
        click.echo(as_json(result, diff=dry_run))
        return
    if dry_run:
        for change in plan.writes:
            click.echo(change.diff(), nl=False)
    _print_onboarding(result, dry_run)


def _print_onboarding(result: OnboardResult, dry_run: bool) -> None:
    plan = result.plan
    out.print(f"onboard: {plan.schema} on target {plan.target} ({plan.adapter}) as source {plan.source}",
              highlight=False)  # fmt: skip
    for table in plan.tables:
        fresh = f", freshness on {table.loaded_at}" if table.loaded_at else ""
        out.print(f"  {table.raw.name} -> {table.model} ({len(table.columns)} columns{fresh})", highlight=False)
        for column, proposal in table.proposals:
            out.print(f"    {escape(column)}: pii {proposal.pii_class} proposed ({escape(proposal.evidence)})",
                      highlight=False)  # fmt: skip
    verb = "would write" if dry_run else "wrote"
    for change in plan.changes:
        path = escape(change.path.as_posix())
        if change.status in ("created", "updated"):
            out.print(f"{verb} {path}", highlight=False)
        if change.kept:
            lines = sum(1 for line in change.kept_diff().splitlines() if line[:1] in "+-") - 2
            out.print(f"kept {path}: differs from what onboard writes ({lines} line(s)); your edit stays "
                      "(move the file away to get onboard's version)", highlight=False)  # fmt: skip
    for note in plan.notes:
        out.print(f"note: {escape(note)}", highlight=False)
    if not dry_run and not plan.writes and any(change.kept for change in plan.changes):
        out.print("nothing written: the rest is as onboard writes it", highlight=False)
    elif not dry_run and not plan.writes:
        out.print("nothing to write: the staging models are as onboard wrote them", highlight=False)
    if result.built:
        why = "" if plan.writes else ": their last build had not succeeded"
        out.print(f"built: {', '.join(result.built)} (dbt build --select{why})", highlight=False)


def _check_blockers(project_dir: Path, flags: DbtFlags, target: str | None) -> list[str]:
    """What blocks `check` now, as readiness.py orders and words it for check: the readiness half of adopt's
    report."""
    from dmesh_dbt.artifacts import load_manifest
    from dmesh_dbt.check import run_check
    from dmesh_dbt.policy.domain import load_domain_config
    from dmesh_dbt.project import manifest_path
    from dmesh_dbt.readiness import blockers

    try:
        report = run_check(project_dir, target=target, flags=flags)
        project = load_manifest(manifest_path(project_dir))  # the manifest check just read
        return blockers(project, project_dir, load_domain_config(project_dir, project.name), report.findings)
    except DmeshError as error:
        return [str(error)]


def _planned_blockers(plan: AdoptPlan, project: Project, project_dir: Path) -> list[str]:
    """A dry run's readiness: the descriptor as the plan writes it, and whether it chose any public model."""
    from dmesh_dbt.policy import DomainConfig
    from dmesh_dbt.project import DMESH_FILE
    from dmesh_dbt.readiness import NO_PUBLIC_MODEL, descriptor_steps

    planned = DomainConfig(plan.domain, owner=plan.owner, path=project_dir / DMESH_FILE)
    return [*descriptor_steps(project, planned), *([] if plan.public_models else [NO_PUBLIC_MODEL])]


def _explain(project: Project, options: ScanOptions, spec: str, output_format: str) -> None:
    from dmesh_dbt.scan.report import explanation_lines, explanations_json
    from dmesh_dbt.scan.scanner import explain_column

    explanations = explain_column(project, options, spec)
    if output_format == "json":
        click.echo(explanations_json(explanations))
        return
    for explanation in explanations:
        for line in explanation_lines(explanation):
            console.print(line, highlight=False, soft_wrap=True, markup=False)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dmesh-dbt")
