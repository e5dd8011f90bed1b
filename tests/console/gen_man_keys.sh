#!/usr/bin/env bash
# gen_man_keys.sh - prints the KEYS section of docs/tally.1 from the key
# table in tui/keys.c (compiled alone with -DKEYS_MAN_MAIN).
# Usage: tests/console/gen_man_keys.sh > /tmp/keys.man
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -DKEYS_MAN_MAIN -I"$src/tui" -I"$src/engine" $(pkg-config --cflags ncursesw jansson) \
	-o "$out/keys" "$src/tui/keys.c"
"$out/keys"
