#!/usr/bin/env bash
# gen_man_commands.sh - prints the COMMANDS section of docs/tally.1 from the
# command table in engine/command.c (compiled with -DCOMMAND_MAN_MAIN).
# Usage: tests/console/gen_man_commands.sh > /tmp/commands.man
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -DCOMMAND_MAN_MAIN -I"$src/engine" $(pkg-config --cflags jansson) \
	-o "$out/commands" "$src/engine/command.c" "$src/engine/util.c" "$src/engine/err.c" \
	$(pkg-config --libs jansson) -lpthread
"$out/commands"
