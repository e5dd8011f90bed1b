#!/usr/bin/env bash
# gen_man_conf.sh - prints docs/tally.conf.5 from the key table in
# engine/confkeys.c (through the built binary: tally help config --man).
# Usage: tests/console/gen_man_conf.sh > docs/tally.conf.5
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
"${TALLY_BIN:-$src/build/tally}" help config --man
