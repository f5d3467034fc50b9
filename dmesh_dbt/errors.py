"""One hierarchy of user-facing errors. Library code raises these; only the CLI turns them into exit codes."""


class DmeshError(Exception):
    """A problem the user can fix; the message names the problem and the fix in one line."""

    exit_code = 2


class UsageError(DmeshError):
    """Bad command-line input (an invalid name, a directory in the way)."""


class ConfigError(DmeshError):
    """A project, policy or descriptor file that is missing or invalid."""


class ArtifactError(DmeshError):
    """dbt artifacts (manifest.json, run_results.json) that are missing, truncated or of an unknown version."""


class RegistryError(DmeshError):
    """The data-product registry cannot be read or written as asked."""


class DbtError(DmeshError):
    """A dbt command that dmesh-dbt ran on the user's behalf failed."""

    exit_code = 1


class WarehouseError(DmeshError):
    """The warehouse refused what dmesh-dbt asked of it on the user's behalf (e.g. writing the key table)."""

    exit_code = 1


class PolicyViolation(DmeshError):
    """The project breaks a mesh rule; reported with exit code 1."""

    exit_code = 1
