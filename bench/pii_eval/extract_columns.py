"""Extract the evaluation set's columns (names, types, descriptions) and sample values from the source repositories.

This is how `columns_raw.csv` and `samples.csv` were made; labels are added by hand in `labels.yml` (see
LABELING.md). It reads git checkouts of the six repositories at the commits recorded in `sources.yml`:

    python bench/pii_eval/extract_columns.py --repos DIR   # DIR/<owner>+<name>/repo is a git directory

It is not run by the benchmark: the extracted files are checked in so the benchmark needs no network.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).parent
SNOWPLOW = ("snowplow/dbt-snowplow-web", "snowplow/dbt-snowplow-unified", "snowplow/dbt-snowplow-mobile",
            "snowplow/dbt-snowplow-ecommerce")  # fmt: skip
GA4 = "Velir/dbt-ga4"
MOZILLA = "mozilla/bigquery-etl"
#: bigquery-etl has ~1,000 table schemas; a fixed tenth of them (by a hash of the path) keeps labeling feasible.
MOZILLA_SAMPLE_MODULUS = 10
MAX_DESCRIPTION = 300
SAMPLES_PER_COLUMN = 25

_DOC_REF = re.compile(r"""\{\{\s*doc\(\s*["']([^"']+)["']\s*\)\s*\}\}""")
_DOC_BLOCK = re.compile(r"\{%\s*docs\s+(\w+)\s*%\}(.*?)\{%\s*enddocs\s*%\}", re.S)


@dataclass(frozen=True)
class ColumnRow:
    source: str
    path: str
    relation: str
    column: str
    data_type: str
    description: str


class Repo:
    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.git_dir = root / name.replace("/", "+") / "repo"
        self.commit = self._git("rev-parse", "HEAD").strip()

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), *args], check=True, capture_output=True,
                              text=True).stdout  # fmt: skip

    def files(self) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", "HEAD").splitlines()

    def read(self, path: str) -> str:
        return self._git("show", f"HEAD:{path}")


def _clean(text: object) -> str:
    return " ".join(str(text or "").split())[:MAX_DESCRIPTION]


def dbt_docs(repo: Repo) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for path in repo.files():
        if path.endswith(".md"):
            for name, body in _DOC_BLOCK.findall(repo.read(path)):
                blocks[name] = body
    return blocks


def _resolve(description: object, docs: dict[str, str]) -> str:
    return _clean(_DOC_REF.sub(lambda m: docs.get(m[1], ""), str(description or "")))


def dbt_columns(repo: Repo) -> Iterator[ColumnRow]:
    """Columns of every model, seed and source documented in the package's YAML (integration tests excluded)."""
    docs = dbt_docs(repo)
    for path in repo.files():
        if not path.endswith((".yml", ".yaml")) or path.startswith(("integration_tests/", ".github/")):
            continue
        try:
            document = yaml.safe_load(repo.read(path)) or {}
        except yaml.YAMLError:
            continue
        if not isinstance(document, dict):
            continue
        for kind in ("models", "seeds", "snapshots"):
            for node in document.get(kind) or []:
                if isinstance(node, dict):
                    yield from _node_columns(repo, path, node.get("name", ""), node, docs)
        for source in document.get("sources") or []:
            if not isinstance(source, dict):
                continue
            for table in source.get("tables") or []:
                relation = f"{source.get('name')}.{table.get('name')}"
                yield from _node_columns(repo, path, relation, table, docs)


def _node_columns(
    repo: Repo, path: str, relation: str, node: dict[str, object], docs: dict[str, str]
) -> Iterator[ColumnRow]:
    for column in node.get("columns") or []:  # type: ignore[attr-defined]
        if isinstance(column, dict) and column.get("name"):
            yield ColumnRow(repo.name, path, relation, str(column["name"]), str(column.get("data_type") or ""),
                            _resolve(column.get("description"), docs))  # fmt: skip


class _TolerantLoader(yaml.SafeLoader):
    """bigquery-etl's own tags (``!include-field-description``) point into its shared schemas: read as no text."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: "")


def mozilla_columns(repo: Repo) -> Iterator[ColumnRow]:
    """Leaf fields of a fixed tenth of bigquery-etl's production table schemas."""
    for path in repo.files():
        if not (path.startswith("sql/moz-fx-data-shared-prod/") and path.endswith("/schema.yaml")):
            continue
        if int(hashlib.sha1(path.encode()).hexdigest(), 16) % MOZILLA_SAMPLE_MODULUS:
            continue
        relation = ".".join(path.split("/")[2:4])
        document = yaml.load(repo.read(path), Loader=_TolerantLoader) or {}
        yield from _leaf_fields(repo.name, path, relation, document.get("fields") or [], "")


def _leaf_fields(
    source: str, path: str, relation: str, fields: list[dict[str, object]], prefix: str
) -> Iterator[ColumnRow]:
    for field in fields:
        if not isinstance(field, dict):
            continue
        name = f"{prefix}{field.get('name')}"
        if field.get("fields"):
            yield from _leaf_fields(source, path, relation, field["fields"], f"{name}.")  # type: ignore[arg-type]
        else:
            yield ColumnRow(
                source, path, relation, name, str(field.get("type") or ""), _clean(field.get("description"))
            )


def seed_samples(repo: Repo) -> Iterator[tuple[str, str, str, str]]:
    """(source, relation, column, value): the first non-empty values of each column of the test seeds."""
    for path in repo.files():
        if not (path.startswith("integration_tests/data/source/") or path.startswith("seeds/")) or not path.endswith(
            ".csv"
        ):
            continue
        relation = Path(path).stem
        csv.field_size_limit(sys.maxsize)
        rows = list(csv.DictReader(repo.read(path).splitlines()))
        for column in rows[0].keys() if rows else ():
            values = [r[column] for r in rows if r.get(column) not in (None, "", "null", "NULL")]
            for value in list(dict.fromkeys(values))[:SAMPLES_PER_COLUMN]:
                yield repo.name, relation, column, value[:MAX_DESCRIPTION]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=Path, required=True, help="folder with <owner>+<name>/repo git directories")
    args = parser.parse_args()
    repos = {name: Repo(args.repos, name) for name in (*SNOWPLOW, GA4, MOZILLA)}
    with (HERE / "sources.yml").open("w") as out:
        yaml.safe_dump(
            {"sources": [{"repo": r.name, "commit": r.commit} for r in repos.values()]}, out, sort_keys=False
        )
    seen: set[tuple[str, str]] = set()
    with (HERE / "columns_raw.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["source", "path", "relation", "column", "data_type", "description"])
        rows = [row for name in (*SNOWPLOW, GA4) for row in dbt_columns(repos[name])]
        rows += list(mozilla_columns(repos[MOZILLA]))
        for row in rows:
            # One row per column name and source: the same column documented in ten models is one decision.
            if (row.source, row.column) in seen:
                continue
            seen.add((row.source, row.column))
            writer.writerow([row.source, row.path, row.relation, row.column, row.data_type, row.description])
    with (HERE / "samples.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["source", "relation", "column", "value"])
        for name in (*SNOWPLOW, GA4):
            writer.writerows(seed_samples(repos[name]))


if __name__ == "__main__":
    main()
