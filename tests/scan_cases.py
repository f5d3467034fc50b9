"""The seeds scan every engine's `scan --sample-rows` test runs through dbt, and what it must find."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from tests.helpers import dbt_invocations, run_cli, run_dbt

PII_META = re.compile(r"^\s*meta: \{pii: [a-z_]+\}\s*\n|, meta: \{pii: [a-z_]+\}", re.M)


def scan_seeds_through_dbt(project: Path, target: str, env: Mapping[str, str]) -> None:
    """Load the payments domain's seeds on ``target``, drop their `meta: {pii}` and scan them with 25 sampled
    rows: every PII column is found by value, both relations in one `dbt show` (each dbt start costs seconds)."""
    run_dbt(project, "seed", "--target", target, env=env)
    seeds_yml = project / "seeds" / "_seeds.yml"
    seeds_yml.write_text(PII_META.sub("", seeds_yml.read_text()))
    shows_before = dbt_invocations(project, "show")

    result = run_cli(
        "scan", "--project-dir", str(project), "--target", target, "--sample-rows", "25",
        "--select", "resource_type:seed", "--format", "json", env=env,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout.startswith("{"), result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["target"] == target and report["relations_sampled"] == 2
    assert dbt_invocations(project, "show") - shows_before == 1
    by_column = {(s["node"].rsplit(".", 1)[-1], s["column"]): s for s in report["suspects"]}
    for column, pii in [("email", "email"), ("ssn", "national_id"), ("phone", "phone"), ("ip_address", "ip_address")]:
        suspect = by_column[("raw_customers", column)]
        assert suspect["class"] == pii and suspect["evidence"]["sampled"] == 25
        assert suspect["evidence"]["match_rate"] == 1.0
    card = by_column[("raw_payments", "card_number")]
    assert card["class"] == "card_number" and card["evidence"]["match_rate"] == 1.0
    assert ("raw_customers", "city") not in by_column and ("raw_payments", "amount_cents") not in by_column
