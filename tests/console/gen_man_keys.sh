#!/usr/bin/env bash
# gen_man_keys.sh - prints the KEYS section of docs/tally.1 from the key
# table in tui/keys.c (compiled with -DKEYS_MAN_MAIN and the command table,
# engine/command.c, whose flags the keys inherit).
# Usage: tests/console/gen_man_keys.sh > /tmp/keys.man
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -DKEYS_MAN_MAIN -I"$src/tui" -I"$src/engine" $(pkg-config --cflags ncursesw jansson) \
	-o "$out/keys" "$src/tui/keys.c" "$src/engine/command.c" "$src/engine/util.c" "$src/engine/err.c" \
	$(pkg-config --libs jansson) -lpthread
"$out/keys"
