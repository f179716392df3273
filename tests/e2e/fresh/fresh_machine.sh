#!/usr/bin/env bash
# Runs INSIDE the fresh machine of tests/e2e/fresh/test_fresh_machine.py, as root, in a clean clone: the
# README's first command, what a new user checks next, then the unit tier.
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the clone: this file is tests/e2e/fresh/fresh_machine.sh
step() { printf '\n=== fresh machine: %s\n' "$*"; }

step "bin/up --simulated (the README's first command)"
bin/up --simulated
step "rows per symbol"
bin/mysql --batch -e "SELECT symbol, COUNT(*) FROM moving_averages GROUP BY symbol"
step "bin/status"
bin/status
step "bin/down"
bin/down
step "bin/test -m unit"
bin/test -m unit -q -p no:cacheprovider
step "done"
