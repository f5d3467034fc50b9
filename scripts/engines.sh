#!/usr/bin/env bash
# Install the real engines the integration tests need. Sourced by scripts/test.sh (under `set -euo pipefail`).
#
# The servers themselves are started by session-scoped fixtures in tests/conftest.py (a throwaway PostgreSQL
# cluster and the crucible BigQuery emulator, each on a free port of 127.0.0.1, stopped by pid at the end), so a
# bare `pytest` behaves the same on a laptop and in CI. This file only makes sure the binaries exist, and tells
# pytest that every engine is required: with DMESH_REQUIRE_ENGINES=1 a missing engine fails the run, never skips.
# See docs/engines.md.

DMESH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DMESH_CRUCIBLE_VERSION="0.1.0a2"
# Its own venv: crucible-emulator pins duckdb 1.5 and an older sqlglot, which conflict with the project's own.
DMESH_CRUCIBLE_VENV="$DMESH_ROOT/.venv-crucible"

postgres_installed() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

install_postgres() {
  if postgres_installed; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "engines.sh: PostgreSQL is not installed; install it with: sudo apt-get install -y postgresql" >&2
    return 1
  fi
  echo "engines.sh: installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-common >/dev/null
  # The tests run their own throwaway cluster; do not let the package create and start a system-wide one on 5432.
  sed -i 's/^#\?\s*create_main_cluster\s*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  apt-get install -y -qq postgresql >/dev/null
}

install_bigquery_emulator() {
  local installed=""
  if [ -x "$DMESH_CRUCIBLE_VENV/bin/python" ]; then
    installed="$("$DMESH_CRUCIBLE_VENV/bin/python" -c \
      'import importlib.metadata as m; print(m.version("crucible-emulator"))' 2>/dev/null || true)"
  fi
  if [ "$installed" = "$DMESH_CRUCIBLE_VERSION" ] && [ -x "$DMESH_CRUCIBLE_VENV/bin/crucible" ]; then
    return 0
  fi
  echo "engines.sh: installing crucible-emulator $DMESH_CRUCIBLE_VERSION into $DMESH_CRUCIBLE_VENV"
  python3 -m venv "$DMESH_CRUCIBLE_VENV"
  # With the uv scripts/setup.sh put in the project's venv (pip if it is missing or fails).
  local wanted="crucible-emulator[server]==$DMESH_CRUCIBLE_VERSION"
  local uv=("$DMESH_ROOT/.venv/bin/python" -m uv pip install --quiet --compile-bytecode)
  if ! "${uv[@]}" --python "$DMESH_CRUCIBLE_VENV/bin/python" "$wanted"; then
    "$DMESH_CRUCIBLE_VENV/bin/python" -m pip install --quiet --upgrade pip
    "$DMESH_CRUCIBLE_VENV/bin/python" -m pip install --quiet "$wanted"
  fi
}

chromium_installed() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

# The catalog's page tests drive Debian's chromium through Playwright (never Playwright's own download).
install_chromium() {
  if chromium_installed; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "engines.sh: Chromium is not installed; install it with: sudo apt-get install -y chromium" >&2
    return 1
  fi
  echo "engines.sh: installing Chromium from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
}

start_engines() {
  install_postgres
  install_bigquery_emulator
  install_chromium
  export DMESH_CRUCIBLE="$DMESH_CRUCIBLE_VENV/bin/crucible"
  export DMESH_REQUIRE_ENGINES=1
}

# Nothing to stop here: the pytest fixtures stop the servers they started, by pid, even when tests fail.
stop_engines() { :; }
