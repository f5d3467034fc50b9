"""dmesh-dbt: self-serve data mesh tooling on dbt."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dmesh-dbt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
