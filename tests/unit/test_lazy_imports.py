"""`dmesh-dbt --help` and a check without a baseline load only what they use (issue 16: start-up time).

Each case imports in a fresh interpreter, as the command does, and lists the heavy modules that got loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Libraries a command loads only when it needs them: a baseline from the registry, a contract, YAML edits,
#: the text renderer, profiles.yml, SQL.
HEAVY = ("rich", "jinja2", "ruamel", "pydantic", "jsonschema", "sqlglot", "importlib.metadata", "dmesh_dbt.registry")


def loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in result.stdout.split() if m.split(".")[0] in HEAVY or m in HEAVY]


def test_the_cli_starts_without_package_metadata_or_libraries_it_does_not_use() -> None:
    # rich too: the CLI's consoles are made when something is first printed through them, never for `--help`.
    assert loaded_after("import dmesh_dbt.cli") == []


def test_a_check_without_baseline_loads_no_registry_contract_or_template_library() -> None:
    assert loaded_after("import dmesh_dbt.cli, dmesh_dbt.check, dmesh_dbt.render") == []


def test_a_check_without_baseline_loads_no_change_kinds() -> None:
    """The change kinds build example projects as they load: only a baseline, a diff, a waiver or a domain's
    override of a rule the mesh policy does not list needs them (issue 16: start-up time)."""
    code = "import sys\nimport dmesh_dbt.check, dmesh_dbt.policy.registry\nprint('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.startswith("dmesh_dbt.changes")]


def test_a_check_of_a_domain_that_consumes_nothing_loads_no_consume_machinery(tmp_path: Path) -> None:
    """Recording what a consumer reads (registry, contracts, snapshots) only loads for a project that consumes."""
    statement = (
        f"from pathlib import Path; from dmesh_dbt.cli import _recorded_reads; _recorded_reads(Path({str(tmp_path)!r}))"
    )
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert not loaded & {"dmesh_dbt.consume", "dmesh_dbt.registry", "dmesh_dbt.contracts", "pydantic", "duckdb"}


def test_the_console_script_entry_loads_nothing_a_bare_interpreter_does_not() -> None:
    """The entry answers `--help` from its cache with the modules Python starts with (click alone costs as much)."""
    code = (
        "import sys\nbare = set(sys.modules)\nimport dmesh_dbt._entry\n"
        "print('\\n'.join(sorted(set(sys.modules) - bare)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["dmesh_dbt", "dmesh_dbt._entry", "zlib"]


def test_the_cli_loads_of_dmesh_dbt_only_its_consoles_and_errors() -> None:
    """Renderers, the report model and the dbt toolkit load in the commands that use them, not in every command."""
    code = "import sys\nimport dmesh_dbt.cli\nprint('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in loaded if m.startswith("dmesh_dbt")] == [
        "dmesh_dbt",
        "dmesh_dbt.cli",
        "dmesh_dbt.console",
        "dmesh_dbt.errors",
    ]
    assert not {"dataclasses", "subprocess", "json", "hashlib", "xml.etree.ElementTree"} & set(loaded)


def test_a_check_whose_lineage_is_all_cached_never_imports_sqlglot(tmp_path: Path) -> None:
    """The second run finds every node in the cache: it must not pay for sqlglot's import (issue 16)."""
    statement = (
        "from pathlib import Path; from tests.unit.test_lineage_cache import _project, _run; "
        f"cache, _ = _run(_project(), Path({str(tmp_path)!r})); assert cache.hits == 2 or cache.misses == 2"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": os.pathsep.join(sys.path)}
    for run in ("cold", "warm"):
        code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        imported = "sqlglot" in result.stdout.split()
        assert imported == (run == "cold"), run


def _modules_after(statement: str, env: dict[str, str]) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return set(result.stdout.split())


#: rich reads these to treat any stream as a terminal, or to wrap it: a plain pipe has none of them.
_TERMINAL_VARIABLES = ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")


def test_a_text_report_to_a_pipe_loads_neither_rich_nor_the_xml_library() -> None:
    """CI pipes check's report to a log: plain lines, laid out without rich; XML only for JUnit (issue 16)."""
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}
    statement = (
        "from dmesh_dbt.console import writes_plain; from dmesh_dbt.render import render; "
        "from dmesh_dbt.report import Finding, Report, Severity; "
        "report = Report('check', 'payments', (Finding('DM003', Severity.ERROR, 'orders.city has no description', "
        "'orders', 'city', 'models/_models.yml', 3),)); "
        "assert writes_plain(); assert 'DM003  models/_models.yml:3' in render(report, 'text')"
    )
    loaded = _modules_after(statement, env)
    assert not {m for m in loaded if m.split(".")[0] in ("rich", "xml")}


def test_writes_plain_leaves_it_to_rich_whenever_a_variable_may_make_a_pipe_a_terminal() -> None:
    """FORCE_COLOR and the like make rich colour a pipe: then the console is rich's, as before."""
    for variable in _TERMINAL_VARIABLES:
        env = {**{k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}, variable: "1"}
        loaded = _modules_after("from dmesh_dbt.console import writes_plain; assert not writes_plain()", env)
        assert "rich" not in loaded, variable


def test_a_check_that_runs_no_dbt_and_writes_nothing_loads_no_process_or_file_machinery() -> None:
    """subprocess loads when dbt or git runs, shutil, tempfile and difflib when a file is copied, written or
    diffed, secrets when the lineage cache's key is made (once per user): a check of a current manifest does none
    of that."""
    statement = "import dmesh_dbt.cli, dmesh_dbt.check, dmesh_dbt.render, dmesh_dbt.source_root"
    loaded = _modules_after(statement, {**os.environ})
    assert not {"subprocess", "shutil", "tempfile", "difflib", "secrets"} & loaded


def test_a_scan_with_values_loads_no_template_library_or_numpy_for_a_plain_profile(tmp_path: Path) -> None:
    """A profiles.yml without ``{{`` needs no jinja2; DuckDB's rows are counted without numpy (issue 16: scan)."""
    import duckdb

    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "profiles.yml").write_text(
        f"shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {tmp_path / 'w.duckdb'}\n"
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute("create table t as select i as id, 'a' || i as code, i / 3 as ratio from range(30) r(i)")
    statement = (
        "from pathlib import Path; from dmesh_dbt.project import resolve_target, dbt_flags\n"
        "from dmesh_dbt.scan.sampling import count_duckdb\n"
        f"project = Path({str(tmp_path)!r}); target = resolve_target(project, None, dbt_flags(project))\n"
        "assert target.duckdb_path is not None\n"
        'assert count_duckdb(target.duckdb_path, [\'"w"."main"."t"\'], 10, 5).rows == {\'"w"."main"."t"\': 10}'
    )
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    env = {**os.environ, "DBT_PROFILES_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert not set(result.stdout.split()) & {"jinja2", "numpy"}


def test_a_scan_without_write_loads_no_yaml_editor() -> None:
    code = "import sys\nimport dmesh_dbt.scan.report, dmesh_dbt.scan.scanner\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(result.stdout.split()) & {"dmesh_dbt.scan.write", "dmesh_dbt.properties", "ruamel", "ruamel.yaml"}


def test_a_check_without_baseline_loads_no_comparison_or_failure_explainer() -> None:
    """Comparing manifests (changes.detect, .types) is the baseline's path; warehouse's patterns explain a failed
    dbt run: neither is on the way of a check of a current manifest."""
    loaded = _modules_after("import dmesh_dbt.cli, dmesh_dbt.check, dmesh_dbt.render", {**os.environ})
    assert not {"dmesh_dbt.changes.detect", "dmesh_dbt.changes.types", "dmesh_dbt.warehouse"} & loaded


def test_the_changes_face_still_serves_what_it_loads_on_first_use() -> None:
    loaded = _modules_after(
        "from dmesh_dbt.changes import find_changes, normalize_type; assert callable(find_changes)", {**os.environ}
    )
    assert {"dmesh_dbt.changes.detect", "dmesh_dbt.changes.types"} <= loaded


def test_a_scan_by_names_loads_no_phone_library_release_inspector_or_failure_explainer() -> None:
    """libphonenumber loads when a sampled value looks like a phone number; the release inspector for published
    relations; warehouse's patterns when dbt fails (issue 16: scan start-up)."""
    loaded = _modules_after("import dmesh_dbt.cli, dmesh_dbt.scan.scanner, dmesh_dbt.scan.report", {**os.environ})
    assert not {"phonenumbers", "dmesh_dbt.inspection", "dmesh_dbt.warehouse"} & loaded


def test_a_phone_shaped_value_loads_the_phone_library_and_is_judged_by_it() -> None:
    statement = (
        "from dmesh_dbt.scan.values import is_phone_number; import sys; assert not is_phone_number('12.5'); "
        "assert 'phonenumbers' not in sys.modules; assert is_phone_number('(206) 555-0166')"
    )
    assert "phonenumbers" in _modules_after(statement, {**os.environ})


def test_scan_reads_the_mesh_policy_without_loading_a_rule_lineage_or_change_kind() -> None:
    """`scan` takes its thresholds from policy.mesh: the policy face must not register every rule for that."""
    loaded = _modules_after("from dmesh_dbt.policy.mesh import scan_thresholds", {**os.environ})
    rule_modules = {"dmesh_dbt.policy.engine", "dmesh_dbt.policy.registry", "dmesh_dbt.policy.rules"}
    assert not (rule_modules | {"dmesh_dbt.lineage", "dmesh_dbt.changes.kinds", "dmesh_dbt.examples"}) & loaded


#: Every rule module and one rule each registers: a read of the registry must find them all, whichever way in.
_EVERY_RULE = "assert {'DM001', 'DM011', 'DM015', 'DM016'} <= set(RULES), sorted(RULES)"


def test_every_way_to_the_registry_finds_every_rule_registered() -> None:
    """A registry read half-filled would skip rules (fail open) or refuse a waiver of a rule not yet loaded."""
    ways = (
        f"from dmesh_dbt.policy import RULES; {_EVERY_RULE}",
        f"from dmesh_dbt.policy.registry import RULES; {_EVERY_RULE}",
        "from dmesh_dbt.policy import evaluate_policy; from dmesh_dbt.policy.engine import RULES; " + _EVERY_RULE,
        "from pathlib import Path; from dmesh_dbt.policy.waivers import parse_waivers; "
        "parse_waivers([{'rule': 'DM016', 'model': 'm', 'reason': 'r', 'expires': '2999-01-01', "
        "'approver': 'a'}], Path('dmesh.yml'))",
    )
    for statement in ways:
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True, text=True)


def test_a_check_compiles_no_pattern_only_names_writes_or_parsing_use() -> None:
    """Name rules (publish, init, registry), YAML indentation (writes), SQL name parts (a node parsed afresh) and
    a matched name's type compile on first use: a check of a current manifest imports them uncompiled (issue 16)."""
    code = (
        "import re, sys\ncompiled = []\ncompile = re.compile\n"
        "re.compile = lambda pattern, flags=0: compiled.append(pattern) or compile(pattern, flags)\n"
        "import dmesh_dbt.cli, dmesh_dbt.check, dmesh_dbt.render, dmesh_dbt.scan.context\n"
        "from dmesh_dbt import files, identifiers, lineage\nfrom dmesh_dbt.scan import names\n"
        "lazy = [*(rule for rule, _ in identifiers._RULES.values()), files._KEY_LINE, files._ITEM_LINE,\n"
        "        lineage._NAME_PART, names._NUMERIC_TYPE, names._BOOLEAN_TYPE]\n"
        "print('\\n'.join(p for p in (getattr(p, 'pattern', p) for p in lazy) if p in compiled))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == []


def test_the_patterns_compiled_on_first_use_still_decide() -> None:
    from dmesh_dbt.files import guess_indentation
    from dmesh_dbt.identifiers import NameKind, is_valid
    from dmesh_dbt.lineage import _identifier_path
    from dmesh_dbt.pii import PiiClass
    from dmesh_dbt.scan.names import type_allows

    assert is_valid(NameKind.DOMAIN, "payments") and not is_valid(NameKind.DOMAIN, "Payments")
    assert guess_indentation("models:\n    - name: a\n      columns:\n        - name: b\n") == (2, 4)
    assert _identifier_path('"t"."Full ""Name"""') == ["t", 'Full "Name"']
    assert not type_allows(PiiClass.EMAIL, "bigint") and not type_allows(PiiClass.EMAIL, "boolean")
    assert type_allows(PiiClass.EMAIL, "varchar")


def test_the_cli_makes_each_kind_of_path_option_once() -> None:
    """Every click.Path() looks its name up in gettext's catalogues as it is made, and every command (check too)
    imports the whole CLI: options of one kind share one instance, as click's own types are shared (issue 16)."""
    import click

    from dmesh_dbt.cli import cli

    def commands(group: click.Command) -> list[click.Command]:
        children = getattr(group, "commands", {}).values()
        return [group, *(command for child in children for command in commands(child))]

    made: dict[tuple[object, ...], set[int]] = {}
    for command in commands(cli):
        for param in command.params:
            if isinstance(param.type, click.Path):
                kind = param.type.to_info_dict()
                made.setdefault(tuple(sorted(kind.items(), key=lambda item: item[0])), set()).add(id(param.type))
    assert made and all(len(instances) == 1 for instances in made.values()), made
