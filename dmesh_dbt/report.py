"""The one report type every command returns: findings, the waivers in force, the rules that ran.

Analyses build a Report and never print; renderers (``dmesh_dbt.render``) turn it into text, JSON, GitHub
annotations, SARIF or JUnit and never decide anything. Whether a report fails a build is decided here.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

import msgspec
from msgspec.structs import replace


class Severity(StrEnum):
    """How much a finding matters: errors fail the command (exit 1), warnings and notes do not."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class RuleInfo(msgspec.Struct, frozen=True):
    """What a rule or change kind is, for renderers that describe rules (SARIF, JUnit, text legends)."""

    id: str
    name: str
    summary: str


class PolicyStamp(msgspec.Struct, frozen=True):
    """Which mesh policy judged a report: its file (or the shipped one) and the sha256 of its bytes."""

    source: str
    sha256: str

    def __str__(self) -> str:
        return f"{self.source} (sha256 {self.sha256})"


class Waiver(msgspec.Struct, frozen=True):
    """An audited exception: ``rule`` does not apply to ``model`` (and ``column``) until ``expires``."""

    rule: str
    model: str
    reason: str
    approver: str
    expires: date
    column: str | None = None

    def is_expired(self, today: date) -> bool:
        return self.expires < today

    def covers(self, finding: Finding) -> bool:
        """Whether this waiver is about ``finding``: same rule, same model (any version), same column if set."""
        if finding.rule_id != self.rule or finding.model is None:
            return False
        if self.model not in {finding.model, finding.model.split(".v")[0]}:
            return False
        return self.column is None or (finding.column or "").lower() == self.column.lower()

    @property
    def subject(self) -> str:
        return f"{self.model}.{self.column}" if self.column else self.model


class Impact(msgspec.Struct, frozen=True):
    """A consuming domain a breaking change hits, and which of the columns it reads are affected."""

    domain: str
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.domain} ({', '.join(self.columns)})" if self.columns else self.domain


class Finding(msgspec.Struct, frozen=True):
    """One thing a command found: a rule violation, a classified change, an unmarked PII suspect."""

    rule_id: str
    severity: Severity
    message: str  # one line: names the model/column and says how to fix it
    model: str | None = None  # display name: ``customers`` or ``customers.v2``
    column: str | None = None
    path: str | None = None  # file to annotate, relative to the project directory
    line: int | None = None
    impacts: tuple[Impact, ...] = ()
    waived_by: Waiver | None = None

    @property
    def fails(self) -> bool:
        """Whether this finding makes the command exit 1."""
        return self.severity is Severity.ERROR and self.waived_by is None

    @property
    def subject(self) -> str:
        if self.model and self.column:
            return f"{self.model}.{self.column}"
        return self.model or ""


class SourceRoot(msgspec.Struct, frozen=True):
    """The repository a project lives in (``dmesh_dbt.source_root`` finds it): its root, and the project's folder
    inside it, so code-scanning formats name files as the repository does."""

    root: str  # absolute path of the repository root
    project: str = ""  # the dbt project's folder relative to ``root`` (posix); "" when the project is the root

    def path(self, project_path: str) -> str:
        """``project_path`` (relative to the dbt project) relative to the repository root."""
        return posixpath.normpath(posixpath.join(self.project, project_path)) if self.project else project_path


class CacheUse(msgspec.Struct, frozen=True):
    """Entries a command read from a cache (hits) and entries it computed and stored (misses)."""

    hits: int
    misses: int


class Report(msgspec.Struct, frozen=True):
    """Everything a command reports; renderers format it, ``exit_code`` decides the build."""

    command: str
    project: str
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...] = ()
    waivers: tuple[Waiver, ...] = ()  # the waivers in force (not expired), whether or not they matched
    notes: tuple[str, ...] = ()  # context lines: which baseline was compared, what was skipped
    policy: PolicyStamp | None = None  # the mesh policy that set the severities (check)
    #: Where the project sits in its repository; None: paths stay relative to the project (text, JSON, tests).
    source_root: SourceRoot | None = None
    #: How many nodes' lineage check read from its cache and how many it computed (check; JSON only).
    lineage_cache: CacheUse | None = None

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.fails)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity and f.waived_by is None)

    @property
    def waived(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived_by is not None)

    def rule(self, rule_id: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def repo_path(self, finding: Finding) -> str | None:
        """The finding's file relative to the repository root (code scanning's view), when it names one."""
        if finding.path is None or self.source_root is None:
            return finding.path
        return self.source_root.path(finding.path)


def apply_waivers(findings: Iterable[Finding], waivers: Iterable[Waiver]) -> tuple[Finding, ...]:
    """The findings, each marked with the waiver in force that covers it, if any."""
    in_force = tuple(waivers)
    marked = []
    for finding in findings:
        waiver = next((w for w in in_force if w.covers(finding)), None)
        marked.append(replace(finding, waived_by=waiver) if waiver else finding)
    return tuple(marked)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Errors first, then by model, column and rule: a stable order for every renderer."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
    return tuple(
        sorted(findings, key=lambda f: (order[f.severity], f.model or "", f.column or "", f.rule_id, f.message))
    )
