"""Session-wide fixtures: the real engines the integration tests run dbt against (see docs/engines.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest

from tests.engines import (
    BigQueryEngine,
    EngineUnavailable,
    PostgresEngine,
    engines_required,
    running_bigquery_emulator,
    running_chromium,
    running_postgres,
)

Engine = TypeVar("Engine")


def _start_or_skip(stack: contextlib.ExitStack, engine: contextlib.AbstractContextManager[Engine]) -> Engine:
    """Skip the tests that need a missing engine locally; fail them when CI requires every engine."""
    try:
        return stack.enter_context(engine)
    except EngineUnavailable as missing:
        if engines_required():
            pytest.fail(f"{missing} (DMESH_REQUIRE_ENGINES=1, so this fails instead of skipping)")
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[PostgresEngine]:
    """A throwaway PostgreSQL cluster on 127.0.0.1; its user may CREATE ROLE and CREATE EXTENSION."""
    with contextlib.ExitStack() as stack:
        yield _start_or_skip(stack, running_postgres())


@pytest.fixture(scope="session")
def bigquery_engine() -> Iterator[BigQueryEngine]:
    """crucible's BigQuery emulator on 127.0.0.1, in memory, for the whole session."""
    with contextlib.ExitStack() as stack:
        yield _start_or_skip(stack, running_bigquery_emulator())


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Playwright over Debian's chromium package) for the catalog's page tests."""
    with contextlib.ExitStack() as stack:
        yield _start_or_skip(stack, running_chromium())
