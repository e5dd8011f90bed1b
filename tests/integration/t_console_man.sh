#!/usr/bin/env bash
# The man page's KEYS section is the one generated from the key table
# (tui/keys.c), so the help view, the footer and the man page agree.
set -euo pipefail
: "${TALLY_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
want=$(bash "$TALLY_SRC/tests/console/gen_man_keys.sh")
got=$(sed -n '/^\.SH KEYS/,/^\.SH /p' "$TALLY_SRC/docs/tally.1" | sed '$d')
# the page renders without a groff warning (it once showed "(Btally serveR")
warn=$(groff -ww -man -z "$TALLY_SRC/docs/tally.1" 2>&1 || true)
if [ -n "$warn" ]; then echo "not ok - groff -ww -man warns on docs/tally.1:"; echo "$warn" | head; echo "0 passed, 1 failed"; exit 1; fi
echo "ok - docs/tally.1 renders without groff warnings"
if [ "$got" = "$want" ]; then echo "ok - docs/tally.1 KEYS matches the key table"; echo "2 passed, 0 failed"; else
	echo "not ok - docs/tally.1 KEYS differs from the key table; regenerate with tests/console/gen_man_keys.sh"
	diff <(echo "$want") <(echo "$got") | head -20
	echo "0 passed, 1 failed"
	exit 1
fi
