"""dmesh-dbt: self-serve data mesh tooling on dbt."""

#: The one place the version is written: pyproject.toml reads it from here (``[tool.setuptools.dynamic]``).
#: A literal rather than ``importlib.metadata.version``, which costs every command tens of milliseconds at start.
__version__ = "0.1.0"
