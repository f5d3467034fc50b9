"""Hostile input to every command: each case ends in its exit code, one line on stderr, no traceback, and nothing
written or changed in the registry, the producer's project or the consumer's project.

A mesh is built once for the module (`payments` built and published, a second domain in the registry, `risk`
consuming `payments.customers`); each case runs in its own copy of it, so the cases can break things. Most
cases fail before dbt would run, which keeps the table fast. The end of the file proves that a Jinja payload in a
producer's description stays text through publish -> consume -> `dbt parse` and `dbt build` in the consumer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from dmesh_dbt.cli import cli
from dmesh_dbt.registry import FileDigest, ProductEntry, Registry, release_digest
from tests.engines import free_port
from tests.helpers import init_domain, run_cli, run_dbt

#: What a producer writes in its YAML so that its *rendered* description (what publish copies into the
#: contract) is a Jinja expression reading the consumer's masking key.
PAYLOAD = "{{ env_var('DMESH_MASKING_KEY') }}"
PRODUCER_DESCRIPTION = "description: '{{ \"" + PAYLOAD.replace("'", "''") + "\" }}'"
CONSUMER_KEY = "consumer-secret-key-7f3a9c"
OTHER_PROJECT = "99999999-0000-4000-8000-000000000000"

YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
DEEP_YAML = "a: " + "[" * 5000 + "]" * 5000 + "\n"


@dataclass(frozen=True)
class Mesh:
    root: Path
    closed_port: int


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Mesh:
    root = tmp_path_factory.mktemp("hostile")
    payments = init_domain(root, "payments")
    marts = payments / "models" / "marts" / "_marts.yml"
    marts.write_text(
        marts.read_text().replace(
            "description: One row per customer, with lifetime totals of their succeeded payments.",
            PRODUCER_DESCRIPTION,
            1,
        )
    )
    run_dbt(payments, "build")
    published = run_cli("publish", cwd=payments)
    assert published.returncode == 0, published.stderr
    refunds = (ProductEntry("refunds", None, None, "refunds.odcs.yaml"),)
    files = {"refunds.odcs.yaml": b"not read by these tests\n", "manifest.json": b"{}\n"}
    Registry.open(str(root / "registry")).publish("refunds", "1.0.0", "r@example.com", refunds, files, OTHER_PROJECT)
    risk = init_domain(root, "risk", "--no-examples")
    consumed = run_cli("consume", "payments.customers", cwd=risk)
    assert consumed.returncode == 0, consumed.stderr
    for leftover in ("logs", "target/compiled", "target/run"):
        shutil.rmtree(payments / leftover, ignore_errors=True)
    (root / "afile").write_text("a file, not a directory\n")
    return Mesh(root, free_port())


@pytest.fixture
def workspace(mesh: Mesh, tmp_path: Path) -> Path:
    """A copy of the mesh (links kept as links, times kept) that a case may break."""
    copy = tmp_path / "ws"
    shutil.copytree(mesh.root, copy, symlinks=True)
    return copy


def fingerprint(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root`` (not following links): kind, mode, size and modification time."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("dir", info.st_mode)
            else:
                found[key] = ("file", info.st_mode, info.st_size, info.st_mtime_ns)
    return found


# ------------------------------------------------------------------------------------------- breaking things

Setup = Callable[[Path], None]


def write(relative: str, text: str, keep_mtime: bool = False) -> Setup:
    """Write ``text`` to ``relative`` in the workspace (keeping its old time, so a build does not look stale)."""

    def setup(ws: Path) -> None:
        path = ws / relative
        times = path.stat() if keep_mtime else None
        if path.is_symlink():
            path.unlink()
        path.write_text(text)
        if times is not None:
            os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))

    return setup


def edit(relative: str, old: str, new: str, keep_mtime: bool = False) -> Setup:
    def setup(ws: Path) -> None:
        text = (ws / relative).read_text()
        assert old in text, f"{old!r} not in {relative}"
        write(relative, text.replace(old, new, 1), keep_mtime)(ws)

    return setup


def truncate(relative: str) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / relative
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return setup


def link(relative: str, target: str) -> Setup:
    """Replace ``relative`` with a symlink to ``target`` (``{ws}`` is the workspace)."""

    def setup(ws: Path) -> None:
        path = ws / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target.replace("{ws}", str(ws)))

    return setup


def directory(relative: str) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / relative
        if path.exists():
            path.unlink()
        path.mkdir(parents=True)

    return setup


def move_outside_and_link(relative: str) -> Setup:
    """Move a directory out of the project and leave a symlink to it: writes through it would leave the project."""

    def setup(ws: Path) -> None:
        path = ws / relative
        outside = ws / "outside"
        shutil.move(path, outside)
        path.symlink_to(outside)

    return setup


def both(*setups: Setup) -> Setup:
    def setup(ws: Path) -> None:
        for each in setups:
            each(ws)

    return setup


MARKER = "registry/releases/payments/1.0.0/RELEASE.json"


def contract_path(ws: Path, prefix: str = "customers") -> Path:
    """The release's file whose name starts with ``prefix``: the contract of customers, or ``manifest.json``."""
    marker = json.loads((ws / MARKER).read_text())
    name = next(n for n in marker["files"] if n.startswith(prefix))
    return ws / "registry/releases/payments/1.0.0" / marker["digest"] / name


def tamper_contract(old: str, new: str) -> Setup:
    """Change the contract's bytes, leaving the marker's digests as they were (what a careless edit does)."""

    def setup(ws: Path) -> None:
        path = contract_path(ws)
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    return setup


def forge_contract(change: Callable[[str], str], prefix: str = "customers") -> Setup:
    """Rewrite the contract *and* its digests in the marker: a forgery only the content checks can catch."""

    def setup(ws: Path) -> None:
        marker_path = ws / MARKER
        marker = json.loads(marker_path.read_text())
        source = contract_path(ws, prefix)
        data = change(source.read_text()).encode()
        files = {n: FileDigest(d["sha256"], d["size"]) for n, d in marker["files"].items()}
        files[source.name] = FileDigest(hashlib.sha256(data).hexdigest(), len(data))
        digest = release_digest(files)
        target = source.parent.parent / digest
        shutil.copytree(source.parent, target)
        (target / source.name).write_bytes(data)
        marker["files"] = {n: {"sha256": f.sha256, "size": f.size} for n, f in files.items()}
        marker["digest"] = digest
        marker_path.write_text(json.dumps(marker))

    return setup


def misnamed_node(manifest: str) -> str:
    """A manifest whose first node's name is a number: a field of the wrong type."""
    document = json.loads(manifest)
    next(iter(document["nodes"].values()))["name"] = 7
    return json.dumps(document)


def marker_edit(old: str, new: str) -> Setup:
    return edit(MARKER, old, new)


# ----------------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    exit_code: int
    stderr: str  # a text the one stderr line must contain
    setup: Setup | None = None
    env: Mapping[str, str] = field(default_factory=dict)


P = ("--project-dir", "{ws}/payments")
R = ("--project-dir", "{ws}/risk")
CLOSED_FTP = "ftp://127.0.0.1:{port}/registry"
PUBLISH = ("publish", *P)
CONSUME = ("consume", "payments.customers", *R)
MANIFEST = "payments/target/manifest.json"
LIST = ("registry", "list", *R)
SHOW = ("registry", "show", "payments.customers", *R)
CHECK = ("check", *P)
S3_CLOSED = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:{port}",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_MAX_ATTEMPTS": "1",
    "AWS_RETRY_MODE": "standard",
}
UNREACHABLE = "cannot reach registry"
CORRUPT = "registry entry payments 1.0.0 is corrupt"

CASES: dict[str, Case] = {
    # ------------------------------------------------------------------------------------------------ init
    "init-traversal": Case(("init", "../evil", "--dir", "{ws}/evil", "--no-deps"), 2, "invalid domain name"),
    "init-uppercase": Case(("init", "Payments", "--dir", "{ws}/p", "--no-deps"), 2, "invalid domain name"),
    "init-jinja": Case(("init", PAYLOAD, "--dir", "{ws}/j", "--no-deps"), 2, "invalid domain name"),
    "init-sql": Case(("init", "x; drop table y", "--dir", "{ws}/s", "--no-deps"), 2, "invalid domain name"),
    "init-long": Case(("init", "a" * 300, "--dir", "{ws}/l", "--no-deps"), 2, "invalid domain name"),
    "init-unicode": Case(("init", "dömäin", "--dir", "{ws}/u", "--no-deps"), 2, "invalid domain name"),
    "init-reserved": Case(("init", "select", "--dir", "{ws}/r", "--no-deps"), 2, "reserved word"),
    "init-dir-under-file": Case(("init", "fresh", "--dir", "{ws}/afile/sub", "--no-deps"), 2, "afile is a file"),
    "init-dir-is-file": Case(("init", "fresh", "--dir", "{ws}/afile", "--no-deps"), 2, "is a file"),
    "init-dir-unwritable": Case(("init", "fresh", "--dir", "/proc/dmesh_fresh", "--no-deps"), 2, "cannot create"),
    "init-dir-not-empty": Case(("init", "fresh", "--dir", "{ws}/payments", "--no-deps"), 2, "is not empty"),
    "init-owner-jinja": Case(("init", "fresh", "--dir", "{ws}/f", "--owner", PAYLOAD, "--no-deps"), 2, "--owner"),
    # ---------------------------------------------------------------------------------------------- publish
    "publish-ftp-closed": Case((*PUBLISH, "--registry", CLOSED_FTP), 2, UNREACHABLE),
    "publish-http-closed": Case((*PUBLISH, "--registry", "http://127.0.0.1:{port}/r"), 2, UNREACHABLE),
    "publish-s3-closed": Case((*PUBLISH, "--registry", "s3://bucket/r"), 2, "registry s3://bucket/r", env=S3_CLOSED),
    "publish-unknown-scheme": Case((*PUBLISH, "--registry", "nope://x"), 2, "not a URL fsspec knows"),
    "publish-missing-driver": Case((*PUBLISH, "--registry", "abfs://c/x"), 2, "needs an fsspec driver"),
    "publish-registry-under-file": Case((*PUBLISH, "--registry", "{ws}/afile/reg"), 2, "afile"),
    "publish-registry-is-file": Case((*PUBLISH, "--registry", "{ws}/afile"), 2, "is a file, not a directory"),
    "publish-registry-is-device": Case((*PUBLISH, "--registry", "/dev/null"), 2, "is a file, not a directory"),
    "publish-unknown-target": Case((*PUBLISH, "--target", "nope"), 2, "target 'nope'"),
    "publish-dmesh-bomb": Case(PUBLISH, 2, "too large", write("payments/dmesh.yml", YAML_BOMB)),
    "publish-dmesh-deep": Case(PUBLISH, 2, "too large or too deeply nested", write("payments/dmesh.yml", DEEP_YAML)),
    "publish-dmesh-huge": Case(PUBLISH, 2, "too large", write("payments/dmesh.yml", "# x\n" * 3_000_000)),
    "publish-dmesh-invalid": Case(PUBLISH, 2, "not valid YAML", write("payments/dmesh.yml", "domain: [oops\n")),
    "publish-dmesh-list": Case(PUBLISH, 2, "not a YAML mapping", write("payments/dmesh.yml", "- a\n- b\n")),
    "publish-dmesh-binary": Case(PUBLISH, 2, "not UTF-8", link("payments/dmesh.yml", "/bin/sh")),
    "publish-dmesh-dev-zero": Case(PUBLISH, 2, "too large", link("payments/dmesh.yml", "/dev/zero")),
    "publish-dmesh-dangling": Case(PUBLISH, 2, "dmesh.yml", link("payments/dmesh.yml", "{ws}/nowhere")),
    "publish-domain-traversal": Case(
        PUBLISH, 2, "invalid domain", edit("payments/dmesh.yml", "domain: payments", "domain: ../../../tmp/x")
    ),
    "publish-domain-jinja": Case(
        PUBLISH, 2, "invalid domain", edit("payments/dmesh.yml", "domain: payments", f'domain: "{PAYLOAD}"')
    ),
    "publish-domain-unicode": Case(
        PUBLISH, 2, "invalid domain", edit("payments/dmesh.yml", "domain: payments", "domain: paymënts")
    ),
    "publish-domain-long": Case(
        PUBLISH, 2, "invalid domain", edit("payments/dmesh.yml", "domain: payments", "domain: " + "p" * 500)
    ),
    "publish-owner-multiline": Case(
        PUBLISH, 2, "one line", edit("payments/dmesh.yml", "owner: payments-team@acme.test", 'owner: "a\\nb"')
    ),
    "publish-sla-not-mapping": Case(PUBLISH, 2, "sla", edit("payments/dmesh.yml", "sla:\n", "sla: 5\nx:\n")),
    "publish-project-id-jinja": Case(
        PUBLISH, 2, "invalid project id", edit("payments/dmesh.yml", "project_id: ", f'project_id: "{PAYLOAD}" #')
    ),
    "publish-manifest-truncated": Case(PUBLISH, 2, "truncated or not JSON", truncate(MANIFEST)),
    "publish-manifest-foreign": Case(
        PUBLISH, 2, "manifest.json", link(MANIFEST, "{ws}/payments/target/run_results.json")
    ),
    "publish-manifest-array": Case(PUBLISH, 2, "not a dbt manifest", write(MANIFEST, "[]")),
    "publish-manifest-oversized": Case(PUBLISH, 2, "DMESH_MAX_JSON_MB", env={"DMESH_MAX_JSON_MB": "0.01"}),
    "publish-manifest-dev-zero": Case(PUBLISH, 2, "manifest", link(MANIFEST, "/dev/zero")),
    "publish-manifest-directory": Case(PUBLISH, 2, "manifest", directory(MANIFEST)),
    "publish-run-results-truncated": Case(PUBLISH, 2, "run_results.json", truncate("payments/target/run_results.json")),
    "publish-owned-by-other-project": Case(
        PUBLISH, 2, "belongs to project", edit("registry/owners/payments.json", '"project_id": "', '"project_id": "9')
    ),
    "publish-corrupt-marker": Case(PUBLISH, 2, CORRUPT, truncate(MARKER)),
    "publish-version-traversal": Case(
        PUBLISH,
        2,
        "invalid version",
        edit("payments/dbt_project.yml", 'version: "1.0.0"', 'version: "../../x"', keep_mtime=True),
    ),
    "publish-profiles-bomb": Case(PUBLISH, 2, "too large", write("payments/profiles.yml", YAML_BOMB, keep_mtime=True)),
    "publish-project-dir-missing": Case(("publish", "--project-dir", "{ws}/nowhere"), 2, "nowhere"),
    "publish-project-dir-file": Case(("publish", "--project-dir", "{ws}/afile"), 2, "afile"),
    # ---------------------------------------------------------------------------------------------- consume
    "consume-ref-traversal": Case(("consume", "../x.y", *R), 2, "is not DOMAIN.PRODUCT"),
    "consume-ref-jinja": Case(("consume", "payments.{{x}}", *R), 2, "is not DOMAIN.PRODUCT"),
    "consume-ref-sql": Case(("consume", "payments.customers;drop table x", *R), 2, "is not DOMAIN.PRODUCT"),
    "consume-ref-unicode": Case(("consume", "payments.cüstomers", *R), 2, "is not DOMAIN.PRODUCT"),
    "consume-ref-long": Case(("consume", "payments." + "c" * 500, *R), 2, "publishes no product"),
    "consume-unknown-product": Case(("consume", "payments.nope", *R), 2, "publishes no product"),
    "consume-unknown-domain": Case(("consume", "nodomain.x", *R), 2, "has published nothing"),
    "consume-own-domain": Case(("consume", "risk.x", *R), 2, "belongs to this domain"),
    "consume-ftp-closed": Case((*CONSUME, "--registry", CLOSED_FTP), 2, UNREACHABLE),
    "consume-marker-jinja": Case(CONSUME, 2, CORRUPT, marker_edit('"name": "customers"', '"name": "{{ x }}"')),
    "consume-marker-truncated": Case(CONSUME, 2, CORRUPT, truncate(MARKER)),
    "consume-marker-dev-zero": Case(CONSUME, 2, CORRUPT, link(MARKER, "/dev/zero")),
    "consume-marker-foreign": Case(
        CONSUME, 2, CORRUPT, link(MARKER, "{ws}/registry/releases/refunds/1.0.0/RELEASE.json")
    ),
    "consume-contract-tampered": Case(
        CONSUME, 2, "does not match the digest", tamper_contract("domain: payments", "domain: paymentz")
    ),
    "consume-contract-traversal": Case(
        CONSUME, 2, CORRUPT, forge_contract(lambda t: t.replace("domain: payments", "domain: ../../../../tmp/x"))
    ),
    "consume-contract-sql-identifier": Case(
        CONSUME,
        2,
        CORRUPT,
        forge_contract(lambda t: t.replace("identifier: customers", "identifier: customers; drop table x")),
    ),
    "consume-contract-not-odcs": Case(CONSUME, 2, CORRUPT, forge_contract(lambda t: "hello: world\n")),
    "consume-contract-bomb": Case(CONSUME, 2, CORRUPT, forge_contract(lambda t: YAML_BOMB)),
    "consume-sources-dir-outside": Case(CONSUME, 2, "leads outside the project", move_outside_and_link("risk/models")),
    "consume-sources-bomb": Case(CONSUME, 2, "too large", write("risk/models/consumed/payments.yml", YAML_BOMB)),
    "consume-profiles-bomb": Case(CONSUME, 2, "too large", write("risk/profiles.yml", YAML_BOMB)),
    "consume-unknown-target": Case((*CONSUME, "--target", "nope"), 2, "target 'nope'"),
    "consume-no-dmesh-yml": Case(CONSUME, 2, "dmesh.yml", link("risk/dmesh.yml", "{ws}/nowhere")),
    "consume-domain-symlink-loop": Case(
        CONSUME, 2, "payments", link("registry/releases/payments", "{ws}/registry/releases/payments")
    ),
    # --------------------------------------------------------------------------------------------- registry
    "list-ftp-closed": Case((*LIST, "--registry", CLOSED_FTP), 2, UNREACHABLE),
    "list-unknown-scheme": Case((*LIST, "--registry", "nope://x"), 2, "not a URL fsspec knows"),
    "list-registry-is-file": Case((*LIST, "--registry", "{ws}/afile"), 2, "is a file, not a directory"),
    "list-corrupt-marker": Case(LIST, 0, f"warning: {CORRUPT}", truncate(MARKER)),
    "list-json-corrupt-marker": Case((*LIST, "--format", "json"), 0, CORRUPT, link(MARKER, "/dev/zero")),
    "list-invalid-domain-dir": Case(
        LIST, 0, "registry entry 'Bad Name' is corrupt", directory("registry/releases/Bad Name")
    ),
    "show-tampered-contract": Case(SHOW, 2, "does not match the digest", tamper_contract("customers", "c")),
    "show-bad-ref": Case(("registry", "show", "payments", *R), 2, "is not DOMAIN.PRODUCT"),
    "show-corrupt-consumer": Case(
        SHOW, 0, "consumer 'risk' is corrupt", write("registry/consumers/payments/customers/risk.json", "{")
    ),
    "show-foreign-marker": Case(
        ("registry", "show", "refunds.refunds", *R),
        2,
        "registry entry refunds 1.0.0 is corrupt",
        link("registry/releases/refunds/1.0.0/RELEASE.json", f"{{ws}}/{MARKER}"),
    ),
    "transfer-bad-project-id": Case(
        ("registry", "transfer", "payments", "--to-project-id", "../x", *R), 2, "invalid project id"
    ),
    "transfer-bad-domain": Case(
        ("registry", "transfer", "../x", "--to-project-id", OTHER_PROJECT, *R), 2, "invalid domain"
    ),
    "transfer-missing-option": Case(("registry", "transfer", "payments", *R), 2, "Missing option"),
    # ------------------------------------------------------------------------------------------------ check
    "check-ftp-closed": Case((*CHECK, "--registry", CLOSED_FTP), 2, UNREACHABLE),
    "check-state-missing": Case((*CHECK, "--state", "{ws}/nowhere"), 2, "does not exist"),
    "check-dmesh-bomb": Case(CHECK, 2, "too large", write("payments/dmesh.yml", YAML_BOMB)),
    "check-output-unwritable": Case((*CHECK, "--output", "/proc/dmesh/report.json"), 2, "/proc/dmesh"),
    "check-unknown-target": Case((*CHECK, "--target", "nope"), 2, "target 'nope'"),
    "check-corrupt-marker": Case(CHECK, 2, CORRUPT, link(MARKER, "/dev/zero")),
    "check-manifest-oversized": Case(CHECK, 2, "DMESH_MAX_JSON_MB", env={"DMESH_MAX_JSON_MB": "0.01"}),
    # The registry's copy of the last release's manifest is the baseline: a forged one (digests redone) with a
    # field of the wrong type is refused in one line, never a traceback.
    "check-baseline-manifest-forged": Case(CHECK, 2, "republish the domain", forge_contract(misnamed_node, "manifest")),
    # ------------------------------------------------------------------------------------------------- diff
    "diff-truncated": Case(
        ("diff", f"{{ws}}/{MANIFEST}", f"{{ws}}/{MANIFEST}"), 2, "truncated or not JSON", truncate(MANIFEST)
    ),
    "diff-foreign": Case(("diff", "{ws}/payments/target/run_results.json", f"{{ws}}/{MANIFEST}"), 2, "manifest"),
    "diff-dev-zero": Case(("diff", "/dev/zero", f"{{ws}}/{MANIFEST}"), 2, "/dev/zero"),
    "diff-yaml-bomb": Case(
        ("diff", "{ws}/bomb.odcs.yaml", f"{{ws}}/{MANIFEST}"), 2, "too large", write("bomb.odcs.yaml", YAML_BOMB)
    ),
    "diff-missing": Case(("diff", "{ws}/nowhere.json", f"{{ws}}/{MANIFEST}"), 2, "does not exist"),
    # ------------------------------------------------------------------------------------------------- scan
    "scan-unknown-target": Case(("scan", *P, "--target", "nope"), 2, "target 'nope'"),
    "scan-project-missing": Case(("scan", "--project-dir", "{ws}/nowhere"), 2, "nowhere"),
    "upgrade-not-from-template": Case(("upgrade", "--project-dir", "{ws}"), 2, "not made by `dmesh-dbt init`"),
    "upgrade-outside-git": Case(("upgrade", *P, "--to", PAYLOAD), 2, "not in a git work tree"),
}


def _expand(text: str, ws: Path, mesh: Mesh) -> str:
    return text.replace("{ws}", str(ws)).replace("{port}", str(mesh.closed_port))


@pytest.mark.parametrize("case", [pytest.param(case, id=name) for name, case in CASES.items()])
def test_hostile_input(case: Case, workspace: Path, mesh: Mesh) -> None:
    if case.setup is not None:
        case.setup(workspace)
    before = fingerprint(workspace)
    env = {"DMESH_REGISTRY": None, **{k: _expand(v, workspace, mesh) for k, v in case.env.items()}}
    args = [_expand(a, workspace, mesh) for a in case.args]
    result = CliRunner().invoke(cli, args, env=env, prog_name="dmesh-dbt")  # type: ignore[arg-type]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (result.exit_code, len(lines)) == (case.exit_code, 1), f"{result.stderr}\n{result.stdout}"
    assert case.stderr in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr + result.stdout
    assert fingerprint(workspace) == before, "the command wrote or changed files"


def test_the_table_covers_every_command_with_at_least_60_cases() -> None:
    commands = {case.args[0] if case.args[0] != "registry" else " ".join(case.args[:2]) for case in CASES.values()}
    assert len(CASES) >= 60
    assert commands >= {"init", "publish", "consume", "registry list", "registry show", "registry transfer"} | {
        "check",
        "diff",
        "scan",
        "upgrade",
    }


# ---------------------------------------------------------------------------------------- text is not code


@pytest.fixture(scope="module")
def consumer_built(mesh: Mesh, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The consumer project, with a model on the consumed product, parsed and built with its own masking key."""
    copy = tmp_path_factory.mktemp("consumer") / "ws"
    shutil.copytree(mesh.root, copy, symlinks=True)
    risk = copy / "risk"
    (risk / "models" / "scores.sql").write_text("select customer_id from {{ source('payments', 'customers') }}\n")
    run_dbt(risk, "build", env={"DMESH_MASKING_KEY": CONSUMER_KEY})
    yield risk


def test_a_jinja_payload_in_a_producers_description_stays_text_in_the_consumer(consumer_built: Path) -> None:
    manifest_text = (consumer_built / "target" / "manifest.json").read_text()
    assert CONSUMER_KEY not in manifest_text
    assert not any(CONSUMER_KEY in p.read_text(errors="ignore") for p in (consumer_built / "target").rglob("*.*"))
    source = json.loads(manifest_text)["sources"]["source.risk.payments.customers"]
    assert source["description"] == PAYLOAD  # shown exactly as the producer wrote it


def test_the_consumer_yaml_holds_the_payload_escaped(mesh: Mesh) -> None:
    sources = (mesh.root / "risk" / "models" / "consumed" / "payments.yml").read_text()
    assert PAYLOAD not in sources
    assert "{{ '{' }}{ env_var(" in sources


# ---------------------------------------------------------------------------------------------- exit codes


def test_an_unexpected_error_is_one_line_pointing_at_debug_and_exit_3(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Registry) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Registry, "listing", broken)  # stands in for any bug a user could hit
    args = ["registry", "list", "--registry", str(workspace / "registry")]
    result = CliRunner().invoke(cli, args, prog_name="dmesh-dbt")
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: unexpected RuntimeError: a bug (a bug in dmesh-dbt ")
    assert line.endswith("run again with `dmesh-dbt --debug ...` for the traceback and report it")
    debug = CliRunner().invoke(cli, ["--debug", *args], prog_name="dmesh-dbt")
    assert isinstance(debug.exception, RuntimeError)  # --debug lets the traceback through


@pytest.mark.parametrize("kill_after", [1, 2])
def test_a_publish_killed_between_writes_is_invisible_then_completed_by_running_it_again(
    workspace: Path, kill_after: int
) -> None:
    shutil.rmtree(workspace / "registry" / "releases" / "payments")
    (workspace / "registry" / "owners" / "payments.json").unlink()
    payments = workspace / "payments"
    killed = run_cli("publish", cwd=payments, env={"DMESH_REGISTRY_KILL_AFTER": str(kill_after)})
    assert killed.returncode == 137, killed.stderr
    listed = run_cli("registry", "list", "--format", "json", cwd=payments)
    assert [r["domain"] for r in json.loads(listed.stdout)["releases"]] == ["refunds"]
    retried = run_cli("publish", cwd=payments)
    assert retried.returncode == 0 and "Published payments 1.0.0" in retried.stdout, retried.stderr
    listed = run_cli("registry", "list", "--format", "json", cwd=payments)
    assert [r["domain"] for r in json.loads(listed.stdout)["releases"]] == ["payments", "refunds"]


def test_check_names_a_corrupt_consumer_record_instead_of_failing(workspace: Path) -> None:
    (workspace / "registry/consumers/payments/customers/risk.json").write_text('{"consumer": "../x"}')
    result = CliRunner().invoke(
        cli, ["check", "--project-dir", str(workspace / "payments")], env={"DMESH_REGISTRY": None}
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    assert "registry entry payments.customers consumer 'risk' is corrupt" in result.stdout
