#!/usr/bin/env bash
# issue 10, defect 9: with a state-dir path too long for a socket name and
# no XDG_RUNTIME_DIR, the socket goes to a private ${TMPDIR:-/tmp}/tally-UID/
# (0700, ours, not a symlink; anything else is refused with a message), and
# clients refuse an engine socket served by another user.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
unset XDG_RUNTIME_DIR
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
LONG="$T/state/$(printf 'a%.0s' $(seq 60))/$(printf 'b%.0s' $(seq 60))"
mkdir -p "$LONG"
export TALLY_STATE_DIR="$LONG"
PRIV="$TMPDIR/tally-$(id -u)"

check "serve starts with a long state dir" serve_bg s1
S=$(sock_path)
check "  the socket is in $PRIV" bash -c '[ "$(dirname "$1")" = "$2" ]' _ "$S" "$PRIV"
expect_eq "  which is mode 700" "$(stat -c %a "$PRIV")" 700
expect_eq "  and ours" "$(stat -c %u "$PRIV")" "$(id -u)"
check "  not a symlink" test ! -L "$PRIV"
expect_exit "status attaches to it" 0 tally status
expect_exit "stop" 0 tally stop
check "  serve ended" proc_gone "$SERVE_PID" 20

chmod 777 "$PRIV"
expect_exit "a socket dir others may write: serve refuses" 2 "$TALLY_BIN" -C "$V" serve
check "  naming it and the mode" bash -c 'grep -q "$1: mode 0777" "$2"' _ "$PRIV" "$T/last.err"
rm -rf "$PRIV"
mkdir -p "$T/elsewhere"; chmod 700 "$T/elsewhere"
ln -s "$T/elsewhere" "$PRIV"
expect_exit "a symlink in its place: serve refuses" 2 "$TALLY_BIN" -C "$V" serve
check "  saying it is not a directory" grep -q "is not a directory" "$T/last.err"
rm -f "$PRIV"
mkdir -m 700 "$PRIV"; chown 65534 "$PRIV"
expect_exit "a directory of another user: serve refuses" 2 "$TALLY_BIN" -C "$V" serve
check "  saying whose it is" grep -q "belongs to uid 65534" "$T/last.err"
rm -rf "$PRIV"

# a socket served by another user is refused by the client
python3 "$TALLY_SRC/tests/fixtures/socket/foreign_engine.py" "$V/.git" "$T/foreign.sock" 65534 >"$T/foreign.out" 2>"$T/foreign.err" &
PIDS+=("$!")
check "the foreign engine listens" waitfor 10 grep -q ready "$T/foreign.out"
rc=0
"$TALLY_BIN" -C "$V" --no-tui status >"$T/st.out" 2>"$T/st.err" || rc=$?
check "status against it fails" test "$rc" -ne 0
check "  refusing the other user's engine" grep -q "runs as uid 65534.*refusing" "$T/st.err"
finish
