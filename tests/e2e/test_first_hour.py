"""What a newcomer meets in the first hour, as they meet it: output right for a terminal and for a file, messages
that agree with each other, a placeholder owner that cannot be published, connection errors that name the cause.

Output is captured (no terminal) unless a test runs the CLI on a pseudo-terminal (``run_on_terminal``).
"""

from __future__ import annotations

import os
import pty
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from dmesh_dbt.cli import cli
from tests.helpers import VENV_BIN, init_domain, run_cli, run_dbt

ESCAPE = "\x1b["

NEW_COLUMN_YAML = """      - name: region
        description: City of residence, as the customer gave it.
        data_type: *string
"""


def run_on_terminal(*args: str, cwd: Path, env: dict[str, str] | None = None, typed: str = "") -> str:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal, type ``typed``, return all it printed."""
    full_env = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
    full_env.update({"DO_NOT_TRACK": "1", "COLUMNS": "160", **(env or {})})
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(VENV_BIN / "dmesh-dbt"), *args], stdin=terminal, stdout=terminal, stderr=terminal, cwd=cwd, env=full_env
    )
    os.close(terminal)
    if typed:
        os.write(controller, typed.encode())
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    process.wait(timeout=300)
    return b"".join(chunks).decode(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Domain:
    path: Path
    steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def cli(self, step: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        self.steps[step] = run_cli(*args, cwd=self.path, env=env)
        return self.steps[step]


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> Domain:
    """The example domain: checked before its first release, built, published, then given an additive change."""
    domain = Domain(init_domain(tmp_path_factory.mktemp("first-hour"), "payments"))
    domain.cli("first check", "check")
    run_dbt(domain.path, "build")
    assert domain.cli("publish", "publish").returncode == 0, domain.steps["publish"].stderr
    domain.cli("show", "registry", "show", "payments.customers")
    marts = domain.path / "models" / "marts"
    sql = marts / "customers.sql"
    city_sql = "    customers.city,\n"
    sql.write_text(sql.read_text().replace(city_sql, city_sql + "    customers.city as region,\n"))
    yml = marts / "_marts.yml"
    city = "      - name: city\n        description: City of residence.\n        data_type: *string\n"
    yml.write_text(yml.read_text().replace(city, city + NEW_COLUMN_YAML, 1))
    domain.cli("additive check", "check")
    domain.cli("verbose check", "check", "--verbose", env={"COLUMNS": "70"})
    return domain


# ------------------------------------------------------------------------------------------------ --help


def test_help_shows_every_commands_whole_summary() -> None:
    for group_args, group in (((), cli), (("registry",), cli.commands["registry"])):
        result = run_cli(*group_args, "--help", env={"COLUMNS": "80"})
        assert result.returncode == 0
        listing = result.stdout.split("Commands:", 1)[1]
        assert not any(line.endswith("...") for line in listing.splitlines()), listing  # click's cut
        shown = " ".join(listing.split())
        for command in group.commands.values():  # type: ignore[attr-defined]
            first_sentence = " ".join((command.help or "").split("\n\n")[0].split())
            first_sentence = first_sentence.split(". ")[0]
            assert first_sentence in shown, first_sentence


# ------------------------------------------------------------------------------------------------ where output goes


def test_redirected_output_has_no_escapes_no_wrapping_and_no_trailing_blanks(payments: Domain) -> None:
    for step in ("first check", "show", "additive check"):
        out = payments.steps[step].stdout
        assert ESCAPE not in out, step
        assert all(line == line.rstrip() for line in out.splitlines()), step
    first = payments.steps["first check"].stdout
    baseline = next(line for line in first.splitlines() if "baseline" in line)
    assert baseline.endswith("breaking changes not checked"), "the line about the baseline was wrapped"
    assert len(baseline) > 80


def test_scan_output_is_not_wrapped_when_redirected(payments: Domain) -> None:
    result = run_cli("scan", "--sample-rows", "20", cwd=payments.path)
    lines = result.stdout.splitlines()
    summary = [line for line in lines if "unmarked PII suspects" in line]
    assert len(summary) == 1 and re.search(r"rows sampled from \d+ relations on target dev \(\d+\.\ds\)$", summary[0])
    assert ESCAPE not in result.stdout


def test_columns_sets_the_width_of_the_findings(payments: Domain) -> None:
    lines = payments.steps["verbose check"].stdout.splitlines()
    findings = [line for line in lines if line.startswith(("note ", "error ", "warning ")) or line.startswith(" " * 8)]
    assert findings, lines
    assert all(len(line) <= 70 for line in findings), findings


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [((), {}, True), ((), {"NO_COLOR": "1"}, False), (("--no-color",), {}, False)],
    ids=["terminal", "NO_COLOR", "--no-color"],
)
def test_a_terminal_gets_styles_unless_asked_not_to(
    payments: Domain, args: tuple[str, ...], env: dict[str, str], coloured: bool
) -> None:
    shown = run_on_terminal(*args, "registry", "show", "payments.customers", cwd=payments.path, env=env)
    assert "payments.customers" in shown
    assert (ESCAPE in shown) is coloured, shown


def test_registry_show_aligns_every_type_name(payments: Domain) -> None:
    lines = [line for line in payments.steps["show"].stdout.splitlines() if line.startswith("    ")]
    assert any("double precision" in line for line in lines)
    type_starts = {re.match(r"    \S+\s+", line).end() for line in lines}  # type: ignore[union-attr]
    assert len(type_starts) == 1, lines
    pii_starts = {line.index("pii=") for line in lines if "pii=" in line}
    assert len(pii_starts) == 1, lines


# ------------------------------------------------------------------------------------------------ messages


def test_a_first_check_says_once_that_there_is_no_release_yet(payments: Domain) -> None:
    first = payments.steps["first check"]
    assert first.returncode == 0, first.stdout + first.stderr
    registry = payments.path.parent / "registry"
    lines = [line for line in first.stdout.splitlines() + first.stderr.splitlines() if "baseline" in line]
    assert lines == [
        f"  no baseline: {registry} has no release of payments yet (the first `dmesh-dbt publish` makes one); "
        "breaking changes not checked"
    ]
    assert "no release" not in first.stderr


def test_the_change_count_says_how_to_list_what_it_leaves_out(payments: Domain) -> None:
    additive = payments.steps["additive check"]
    assert additive.returncode == 0, additive.stdout + additive.stderr
    assert "1 change(s), 0 breaking; 1 additive not listed (add --verbose to list every change)" in additive.stdout
    verbose = payments.steps["verbose check"]
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "1 change(s), 0 breaking\n" in verbose.stdout
    assert re.search(r"^note\s+AC\d{3}\s.*region", verbose.stdout, re.MULTILINE), verbose.stdout


# ------------------------------------------------------------------------------------------------ owners


def test_init_without_a_terminal_writes_a_placeholder_owner_that_publish_refuses(tmp_path: Path) -> None:
    project = tmp_path / "cards"
    created = run_cli("init", "cards", "--dir", str(project), "--no-deps")
    assert created.returncode == 0, created.stderr
    assert "wrote the placeholder cards-team@example.com into dmesh.yml" in created.stdout
    refused = run_cli("publish", "--project-dir", str(project))
    assert refused.returncode == 2
    assert f"{project / 'dmesh.yml'}: owner cards-team@example.com is a placeholder" in refused.stderr
    assert "set `owner:` there" in refused.stderr and "Traceback" not in refused.stderr


def test_init_on_a_terminal_asks_for_the_owner(tmp_path: Path) -> None:
    shown = run_on_terminal("init", "cards", "--dir", str(tmp_path / "cards"), "--no-deps", cwd=tmp_path,
                            typed="cards-team@acme.test\n")  # fmt: skip
    assert "Email of the team that owns the domain" in shown
    assert yaml.safe_load((tmp_path / "cards" / "dmesh.yml").read_text())["owner"] == "cards-team@acme.test"
    assert "placeholder" not in shown


# ------------------------------------------------------------------------------------------------ warehouses


def test_an_unreachable_postgres_names_host_port_and_the_settings(payments: Domain) -> None:
    port = free_port()
    result = run_cli("scan", "--target", "postgres", "--sample-rows", "10", cwd=payments.path,
                     env={"DMESH_PG_HOST": "127.0.0.1", "DMESH_PG_PORT": str(port)})  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot reach the postgres warehouse of target 'postgres' at 127.0.0.1:{port}" in result.stderr
    assert "DMESH_PG_HOST and DMESH_PG_PORT" in result.stderr
    assert "dbt build" not in result.stderr


def test_bigquery_without_credentials_says_so_and_how_to_give_them(payments: Domain, tmp_path: Path) -> None:
    env = {
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "CLOUDSDK_CONFIG": str(tmp_path),  # no gcloud application-default credentials here
        "HOME": str(tmp_path),
        "NO_GCE_CHECK": "True",  # not on Google Cloud: do not wait for its metadata server
        "DMESH_BQ_PROJECT": "acme-data",
    }
    result = run_cli("scan", "--target", "prod", "--sample-rows", "10", cwd=payments.path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no usable BigQuery credentials for target 'prod'" in result.stderr
    assert "gcloud auth application-default login" in result.stderr and "DMESH_BQ_KEYFILE" in result.stderr
    assert "dbt build" not in result.stderr
