"""Render a scan: a table for people, JSON for scripts. Counts and rates only; never a sampled value."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dmesh_dbt.console import print_block
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.detect import Explanation, Suspect
from dmesh_dbt.scan.scanner import ScanResult

if TYPE_CHECKING:  # the YAML editor loads only for --write
    from dmesh_dbt.scan.write import WriteResult


def _short(suspect: Suspect) -> str:
    """``model customers``: the kind and name a reader looks for, without the package."""
    kind, _, rest = suspect.node_id.partition(".")
    name = rest.split(".", 1)[-1]
    published = " (published)" if suspect.published else ""
    return f"{kind} {name}{published}"


def summary_line(result: ScanResult, write: WriteResult | None = None) -> str:
    sampled = (
        f", {result.rows_sampled} rows sampled from {result.relations_sampled} relations on target {result.target}"
        if result.target
        else " (names only; add --sample-rows N to check values)"
    )
    line = f"{len(result.suspects)} unmarked PII suspects in {result.columns_scanned} columns{sampled}"
    if write is not None:
        files = len({w.path for w in write.written})
        line += f"; classified {len(write.written)} in {files} YAML files"
        if write.skipped:
            line += f", {len(write.skipped)} left for you"
    return line + f" ({result.seconds:.1f}s)"


#: Suspects above which the table is laid out as plain aligned text: rich measures and wraps every cell, which
#: took seconds at thousands of suspects (a names-only scan of a large manifest), far more than the scan itself.
PLAIN_TABLE_ROWS = 200
_HEADINGS = ("node", "column", "class", "conf", "evidence")


def _cells(suspect: Suspect) -> tuple[str, ...]:
    return _short(suspect), suspect.column, str(suspect.pii_class), f"{suspect.confidence:.2f}", suspect.evidence


def plain_table(rows: list[tuple[str, ...]]) -> str:
    """``rows`` under ``_HEADINGS`` in left-aligned columns two spaces apart, as rich lays out a short table."""
    widths = [max(len(row[i]) for row in (_HEADINGS, *rows)) for i in range(len(_HEADINGS))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in (_HEADINGS, *rows)
    )


def print_text(console: Console, result: ScanResult, write: WriteResult | None = None) -> None:
    if len(result.suspects) > PLAIN_TABLE_ROWS:
        console.file.write(plain_table([_cells(suspect) for suspect in result.suspects]))
    elif result.suspects:
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for heading in _HEADINGS:
            table.add_column(heading, overflow="fold")
        for suspect in result.suspects:
            table.add_row(*(escape(cell) for cell in _cells(suspect)))
        print_block(console, table)
    for leak in result.leaks:
        console.print(f"[red]DM012[/red] published {leak.message}", highlight=False, soft_wrap=True)
    for skipped in write.skipped if write else ():
        where = escape(f"{skipped.node_id}.{skipped.column}: {skipped.reason}")
        console.print(f"[yellow]not written[/yellow] {where}", soft_wrap=True)
    console.print(summary_line(result, write), highlight=False, soft_wrap=True)


def as_json(result: ScanResult, write: WriteResult | None = None) -> str:
    document: dict[str, Any] = {
        "columns_scanned": result.columns_scanned,
        "relations_sampled": result.relations_sampled,
        "rows_sampled": result.rows_sampled,
        "published_columns_checked": result.published_columns,
        "target": result.target,
        "suspects": [_suspect(s) for s in result.suspects],
        "published_leaks": [
            {
                "product": k.product,
                "column": k.column,
                "pattern": str(k.pattern),
                "values": k.values,
                "sampled": k.sampled,
            }
            for k in result.leaks
        ],
    }
    if write is not None:
        document["written"] = [
            {"path": str(w.path), "node": w.node_id, "column": w.column, "pii": w.pii_class} for w in write.written
        ]
        document["not_written"] = [{"node": s.node_id, "column": s.column, "reason": s.reason} for s in write.skipped]
    return json.dumps(document, indent=2)


def _suspect(suspect: Suspect) -> dict[str, Any]:
    values = suspect.values
    return {
        "node": suspect.node_id,
        "published": suspect.published,
        "relation": suspect.relation,
        "column": suspect.column,
        "class": str(suspect.pii_class),
        "confidence": suspect.confidence,
        "public": suspect.public,
        "evidence": {
            "name_pattern": suspect.name_pattern,
            "name_source": suspect.name_source,
            "sampled": values.sampled if values else 0,
            "distinct": values.distinct if values else 0,
            "matched": {str(k): v for k, v in values.matches.items()} if values else {},
            "match_rate": round(values.rate(suspect.pii_class), 3)
            if values and values.sampled and isinstance(suspect.pii_class, PiiClass)
            else None,
            "summary": suspect.evidence,
        },
        "reasons": list(suspect.reasons),
    }


def explanation_lines(explanation: Explanation) -> list[str]:
    """``scan --explain``: the column, its tokens, each signal, the score and the verdict, one fact a line."""
    column, name, values = explanation.column, explanation.name, explanation.values
    lines = [
        f"{column.node_id}.{column.name}" + (f" ({column.data_type})" if column.data_type else ""),
        f"  tokens:     {' '.join(explanation.tokens) or '(none)'}",
        f"  marked:     {column.pii}" if column.pii else "  marked:     no (meta has no pii)",
        f"  name:       {name.pii_class} ({name.source} matches {name.pattern!r}, {name.confidence:.2f})"
        if name
        else "  name:       no class (name and description match no pattern)",
    ]
    if values is None:
        lines.append("  values:     not sampled (add --sample-rows N)")
    else:
        matched = ", ".join(f"{k} {v}" for k, v in sorted(values.matches.items())) or "none"
        sampled = f"{values.sampled} sampled, {values.distinct} distinct"
        lines.append(f"  values:     {sampled}; validators passed: {matched}")
    if explanation.masked:
        lines.append(f"  masked:     {explanation.masked}")
    score = explanation.score
    for reason in score.reasons:
        lines.append(f"  because:    {reason}")
    lines.append(f"  verdict:    {_verdict(explanation)}")
    return lines


def _verdict(explanation: Explanation) -> str:
    score, suspect, marked = explanation.score, explanation.suspect, explanation.column.pii
    if suspect is not None:
        return f"reported as {suspect.pii_class}, confidence {suspect.confidence:.2f}"
    scored = f" (score: {score.pii_class} {score.confidence:.2f})" if score.pii_class else ""
    if marked:
        return f"not reported: classified in meta as pii: {marked}{scored}"
    if explanation.masked:
        return "not reported: masked output"
    return f"not reported{scored}"


def explanations_json(explanations: list[Explanation]) -> str:
    return json.dumps([_explanation(e) for e in explanations], indent=2)


def _explanation(explanation: Explanation) -> dict[str, Any]:
    name, values, suspect = explanation.name, explanation.values, explanation.suspect
    return {
        "node": explanation.column.node_id,
        "column": explanation.column.name,
        "marked": explanation.column.pii,
        "tokens": list(explanation.tokens),
        "name": {"class": str(name.pii_class), "pattern": name.pattern, "source": name.source,
                 "confidence": name.confidence} if name else None,
        "values": {"sampled": values.sampled, "distinct": values.distinct,
                   "matched": {str(k): v for k, v in values.matches.items()}} if values else None,
        "masked": explanation.masked,
        "score": {"class": str(explanation.score.pii_class) if explanation.score.pii_class else None,
                  "confidence": round(explanation.score.confidence, 2)},
        "reasons": list(explanation.score.reasons),
        "reported": _suspect(suspect) if suspect else None,
    }  # fmt: skip
