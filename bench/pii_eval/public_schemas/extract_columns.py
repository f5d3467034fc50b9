"""Extract the columns of the public schemas in sources.yml into columns.csv (see LABELING.md).

    python bench/pii_eval/public_schemas/extract_columns.py MIRRORS_DIR

MIRRORS_DIR holds bare git clones named ``owner+name`` (or ``owner+name/repo``); each repository is read at the
commit sources.yml pins, so the extraction is repeatable. dbt packages: every column documented in the YAML of
``models/`` (sources and models; integration tests left out), ``{{ doc() }}`` descriptions resolved from the
package's ``{% docs %}`` blocks. OMOP CDM: the field-level CSV of CDM v5.4 (user guidance as description).
A column is kept once per source and table stem (``stg_hubspot__contact`` and ``hubspot__contacts`` are one
decision about a contact's column, not two).
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
DOC_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.DOTALL)
DOC_REF = re.compile(r"{{\s*doc\(\s*['\"](\w+)['\"]\s*\)\s*}}")
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def stem(source: str, relation: str) -> str:
    """``stg_hubspot__contact_tmp`` -> ``contact``; ``hubspot__contacts`` -> ``contacts``."""
    name = relation.lower()
    name = re.sub(r"^(stg|int|src|base|fct|dim)_", "", name)
    name = name.split("__", 1)[1] if "__" in name else name
    return re.sub(r"_tmp$", "", name)


def dbt_package(repo: Path, commit: str, source: str) -> list[dict[str, str]]:
    files = [f for f in git(repo, "ls-tree", "-r", "--name-only", commit).splitlines() if f.startswith("models/")]
    docs: dict[str, str] = {}
    for path in (f for f in files if f.endswith(".md")):
        blocks = DOC_BLOCK.finditer(git(repo, "show", f"{commit}:{path}"))
        docs.update((m.group(1), " ".join(m.group(2).split())) for m in blocks)
    rows: list[dict[str, str]] = []
    for path in (f for f in files if f.endswith((".yml", ".yaml"))):
        document = yaml.safe_load(git(repo, "show", f"{commit}:{path}")) or {}
        relations = [(m["name"], m) for m in document.get("models") or []]
        for src in document.get("sources") or []:
            relations += [(t["name"], t) for t in src.get("tables") or []]
        for relation, node in relations:
            for column in node.get("columns") or []:
                text = DOC_REF.sub(lambda m: docs.get(m.group(1), ""), str(column.get("description") or ""))
                description = " ".join(JINJA.sub("", text).split())
                data_type = str(column.get("data_type") or "")
                rows.append({"source": source, "path": path, "relation": relation, "column": str(column["name"]),
                             "data_type": data_type, "description": description})  # fmt: skip
    return rows


def omop(repo: Path, commit: str, source: str) -> list[dict[str, str]]:
    path = "inst/csv/OMOP_CDMv5.4_Field_Level.csv"
    reader = csv.DictReader(git(repo, "show", f"{commit}:{path}").splitlines())
    return [
        {
            "source": source,
            "path": path,
            "relation": r["cdmTableName"],
            "column": r["cdmFieldName"],
            "data_type": r["cdmDatatype"],
            "description": " ".join(r["userGuidance"].split()),
        }  # fmt: skip
        for r in reader
    ]


def main(mirrors: Path) -> None:
    sources = yaml.safe_load((HERE / "sources.yml").read_text())["sources"]
    seen: set[tuple[str, str, str]] = set()
    kept: list[dict[str, str]] = []
    for entry in sources:
        repo = mirrors / entry["repo"].replace("/", "+")
        repo = repo / "repo" if (repo / "repo").is_dir() else repo
        extract = omop if entry["kind"] == "omop" else dbt_package
        for row in extract(repo, entry["commit"], entry["repo"]):
            key = (row["source"], stem(row["source"], row["relation"]), row["column"].lower())
            if key not in seen:
                seen.add(key)
                kept.append(row)
    with (HERE / "columns.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["source", "path", "relation", "column", "data_type", "description"])
        writer.writeheader()
        writer.writerows(kept)
    print(f"{len(kept)} columns from {len(sources)} sources")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
