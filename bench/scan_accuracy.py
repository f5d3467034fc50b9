"""Accuracy of `dmesh-dbt scan` on the labeled evaluation set in bench/pii_eval, beside piicatcher.

    python bench/scan_accuracy.py

Two evaluations (see bench/pii_eval/LABELING.md for how the set was built and labeled):
  names   every labeled column; ours reads name + description, piicatcher its column-name rules
  values  the columns of the seeds the source repositories ship, with their values; ours reads name + values
          (and values alone), piicatcher its name rules plus its value regexes (deep scan)
  public  bench/pii_eval/public_schemas: connector schemas of six Fivetran packages, jaffle_shop and OMOP CDM,
          plus synthetic look-alikes (see its LABELING.md); ours reads name, description, table and data type;
          then the same columns with synthetic values generated per label (synthetic_values.py)
Prints precision, recall and F1 per class; "any PII" is binary (a column flagged at all, whatever the class) and
"all (typed)" counts a column right only with the right class.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "pii_eval" / "public_schemas"))

from peers import piicatcher_detectors  # noqa: E402
from synthetic_values import values_for  # noqa: E402

from dmesh_dbt.scan.detect import ColumnRef, classify  # noqa: E402

EVAL = Path(__file__).parent / "pii_eval"
PUBLIC = EVAL / "public_schemas"
NONE = "none"
ANY, TYPED = "any PII", "all (typed)"


@dataclass(frozen=True)
class Labeled:
    source: str
    relation: str
    column: str
    description: str
    label: str
    data_type: str = ""
    siblings: tuple[str, ...] = ()


def load_labels() -> tuple[dict[tuple[str, str], str], set[str], set[str]]:
    document = yaml.safe_load((EVAL / "labels.yml").read_text())
    labels: dict[tuple[str, str], str] = {}
    for pii_class, by_source in document["labels"].items():
        for source, columns in by_source.items():
            for column in columns:
                labels[(source, column)] = pii_class
    return labels, set(document["exclude"]), set(document["pseudonymised_in_samples"])


def label_of(labels: dict[tuple[str, str], str], source: str, column: str) -> str:
    return labels.get((source, column)) or labels.get(("all", column)) or NONE


def named_columns(labels: dict[tuple[str, str], str], excluded: set[str]) -> list[Labeled]:
    with (EVAL / "columns_raw.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [
        Labeled(r["source"], r["relation"], r["column"], r["description"], label_of(labels, r["source"], r["column"]))
        for r in rows
        if r["column"] not in excluded
    ]


def sampled_columns(
    labels: dict[tuple[str, str], str], excluded: set[str], pseudonymised: set[str]
) -> list[tuple[Labeled, list[str]]]:
    values: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    with (EVAL / "samples.csv").open() as handle:
        for r in csv.DictReader(handle):
            values[(r["source"], r["relation"], r["column"])].append(r["value"])
    columns = []
    for (source, relation, column), sample in values.items():
        if column in excluded:
            continue
        label = NONE if f"{relation}.{column}" in pseudonymised else label_of(labels, source, column)
        columns.append((Labeled(source, relation, column, "", label), sample))
    return columns


def scores(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[int, float, float, float]]:
    """Per class (and "any PII"): support, precision, recall, F1 over (label, prediction) pairs."""
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    for label, predicted in pairs:
        if predicted == label and label != NONE:
            tp[label] += 1
        else:
            if predicted != NONE:
                fp[predicted] += 1
            if label != NONE:
                fn[label] += 1
        is_pii, flagged = label != NONE, predicted != NONE
        tp[ANY] += is_pii and flagged
        fp[ANY] += flagged and not is_pii
        fn[ANY] += is_pii and not flagged
        tp[TYPED] += is_pii and predicted == label
        fp[TYPED] += flagged and predicted != label
        fn[TYPED] += is_pii and predicted != label
    result = {}
    for cls in sorted(set(tp) | set(fn) | set(fp), key=_row_order):
        precision = tp[cls] / (tp[cls] + fp[cls]) if tp[cls] + fp[cls] else 0.0
        recall = tp[cls] / (tp[cls] + fn[cls]) if tp[cls] + fn[cls] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[cls] = (tp[cls] + fn[cls], precision, recall, f1)
    return result


def _row_order(cls: str) -> tuple[bool, bool, str]:
    return (cls == TYPED, cls == ANY, cls)


def print_table(title: str, runs: dict[str, dict[str, tuple[int, float, float, float]]]) -> None:
    names = list(runs)
    classes = sorted({c for run in runs.values() for c in run}, key=_row_order)
    print(f"\n{title}")
    header = f"{'class':<15}{'support':>8}" + "".join(f" | {name:^22}" for name in names)
    print(header)
    print(f"{'':<23}" + "".join(f" | {'P':>6}{'R':>7}{'F1':>7}  " for _ in names))
    print("-" * len(header))
    for cls in classes:
        support = max(run.get(cls, (0, 0, 0, 0))[0] for run in runs.values())
        cells = []
        for name in names:
            _, p, r, f = runs[name].get(cls, (support, 0.0, 0.0, 0.0))
            cells.append(f" | {p:>6.2f}{r:>7.2f}{f:>7.2f}  ")
        print(f"{cls:<15}{support:>8}" + "".join(cells))


def ours(column: Labeled, values: list[str] | None, use_name: bool = True) -> str:
    name = column.column if use_name else ""
    description = column.description if use_name else ""
    ref = ColumnRef(
        f"{column.source}:{column.relation}", column.relation, name, description, column.data_type or None,
        siblings=column.siblings if use_name else (),
    )  # fmt: skip
    suspect = classify(ref, values)
    return str(suspect.pii_class) if suspect else NONE


def public_columns() -> tuple[list[Labeled], list[Labeled]]:
    """(public, synthetic) columns of bench/pii_eval/public_schemas with their labels; excluded ones left out."""
    labels: dict[tuple[str, str, str], str] = {}
    with (PUBLIC / "labels.csv").open() as handle:
        for r in csv.DictReader(line for line in handle if not line.startswith("#")):
            labels[(r["source"], r["relation"], r["column"])] = r["label"]
    public: list[Labeled] = []
    seen: set[tuple[str, str, str]] = set()
    with (PUBLIC / "columns.csv").open() as handle:
        for r in csv.DictReader(handle):
            if "/src_" not in r["path"] and r["source"] not in ("OHDSI/CommonDataModel", "dbt-labs/jaffle_shop"):
                continue  # the connectors' own tables only (see LABELING.md)
            relation = stem(r["relation"])
            key = (r["source"], relation, r["column"])
            if key in seen:
                continue
            seen.add(key)
            label = labels.get(key) or labels.get((r["source"], "*", r["column"])) or NONE
            if label != "exclude":
                public.append(Labeled(r["source"], relation, r["column"], r["description"], label, r["data_type"]))
    siblings: dict[tuple[str, str], list[str]] = defaultdict(list)
    for column in public:
        siblings[(column.source, column.relation)].append(column.column)
    public = [replace(c, siblings=tuple(siblings[(c.source, c.relation)])) for c in public]
    with (PUBLIC / "synthetic.csv").open() as handle:
        synthetic = [
            Labeled("synthetic", r["relation"], r["column"], "", r["label"], r["data_type"])
            for r in csv.DictReader(line for line in handle if not line.startswith("#"))
        ]
    return public, synthetic


def stem(relation: str) -> str:
    """A connector table's name as its package's models name it: ``stg_hubspot__contact_tmp`` -> ``contact``."""
    name = relation.lower().removesuffix("_tmp")
    return name.split("__", 1)[1] if "__" in name else name


def evaluate(
    columns: list[Labeled], predict: Callable[[Labeled], str | None]
) -> dict[str, tuple[int, float, float, float]]:
    return scores((c.label, predict(c) or NONE) for c in columns)


def main() -> None:
    labels, excluded, pseudonymised = load_labels()
    peer_name, peer_values = piicatcher_detectors()

    public, synthetic = public_columns()
    for title, columns in (("public", public), ("synthetic", synthetic), ("public + synthetic", public + synthetic)):
        positives = sum(c.label != NONE for c in columns)
        print(f"\n{title}: {len(columns)} columns ({positives} PII)")
        print_table(
            f"{title}: column name, description, table and type (piicatcher: its column-name rules)",
            {
                "dmesh-dbt scan": evaluate(columns, lambda c: ours(c, None)),
                "piicatcher names": evaluate(columns, lambda c: peer_name(c.column)),
            },
        )
    columns = public + synthetic
    generated = {id(c): values_for(c.source, c.relation, c.column, c.label, c.data_type) for c in columns}
    print_table(
        f"public + synthetic with {len(next(iter(generated.values())))} synthetic values per column",
        {
            "ours name+values": evaluate(columns, lambda c: ours(c, generated[id(c)])),
            "ours values only": evaluate(columns, lambda c: ours(c, generated[id(c)], use_name=False)),
            "piicatcher": evaluate(columns, lambda c: peer_values(generated[id(c)]) or peer_name(c.column)),
        },
    )

    named = named_columns(labels, excluded)
    positives = sum(c.label != NONE for c in named)
    print(f"names: {len(named)} columns ({positives} PII) from {len({c.source for c in named})} sources")
    print_table(
        "names: column name (+ description for ours)",
        {
            "dmesh-dbt scan": evaluate(named, lambda c: ours(c, None)),
            "piicatcher names": evaluate(named, lambda c: peer_name(c.column)),
        },
    )

    sampled = sampled_columns(labels, excluded, pseudonymised)
    by_column = {id(c): v for c, v in sampled}
    columns = [c for c, _ in sampled]
    positives = sum(c.label != NONE for c in columns)
    print(f"\nvalues: {len(columns)} seed columns ({positives} PII), {sum(len(v) for _, v in sampled)} values")
    print_table(
        "values: seed columns with their values",
        {
            "ours name+values": evaluate(columns, lambda c: ours(c, by_column[id(c)])),
            "ours values only": evaluate(columns, lambda c: ours(c, by_column[id(c)], use_name=False)),
            "piicatcher": evaluate(columns, lambda c: peer_values(by_column[id(c)]) or peer_name(c.column)),
        },
    )


if __name__ == "__main__":
    main()
