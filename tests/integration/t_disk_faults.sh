#!/usr/bin/env bash
# issue 10, defect 7: a record whose working-tree update fails (the version
# file is immutable: chattr +i) says so in the batch output and exits
# non-zero; the next engine start reports the file it cannot repair and
# still runs the components that do not record in it. (Whole-line ledger
# appends on a full disk: tests/unit/test_ledger.c.)
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
if ! chattr +i "$V/server-versions.txt" 2>/dev/null; then
	echo "chattr +i does not work here; cannot make the rename fail" >&2
	exit 1
fi
undo() { local rc=$?; chattr -i "$V/server-versions.txt" 2>/dev/null || true; return $rc; }
trap 'undo; cleanup' EXIT
n0=$(commits)
expect_exit "run with an immutable version file exits 1" 1 tally run --json
cp "$T/last.out" "$T/run1.json"
check "run --json valid, summary exit 1" json_ok "$T/run1.json" 1
expect_eq "the record commit landed" "$(commits)" $((n0 + 1))
expect_eq "the record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "the attempt says record class" "$(jq -r 'select(.event == "attempt" and .component == "server") | .class' "$T/run1.json")" record
check "  and that the working tree was not updated" jq_ok "$T/run1.json" 'any(.[]; .event == "attempt" and .component == "server" and (.message | contains("working tree was not updated")))'
expect_eq "summary: 1 failed (server; chat is current)" "$(tail -1 "$T/run1.json" | jq -r '.failed')" 1
# the next start: chat's new version ships, the file is reported
git -C "$T/chat-upstream" tag v1.1.0
expect_exit "next run: chat ships although server's file cannot be repaired (exit 0 or 1)" 0 \
	bash -c '"$TALLY_BIN" -C "$1" --no-tui run --json >"$2" 2>"$3"; [ $? -le 1 ]' _ "$V" "$T/run2.json" "$T/run2.err"
expect_eq "  chat shipped" "$(jq -r 'select(.event == "attempt" and .component == "chat") | .result' "$T/run2.json")" shipped
expect_eq "  chat record moved" "$(record_of chat-versions.txt chat)" v1.1.0
check "  the unrepairable file is reported" bash -c 'grep -q "server-versions.txt: cannot repair" "$1" "$2"' _ "$T/run2.json" "$T/run2.err"
undo
expect_exit "once writable, a run repairs it (after chat's later record) and exits 0" 0 tally run
expect_eq "  the working tree has the record" "$(sed -n 's/^server=//p' "$V/server-versions.txt")" v3.8.1
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"
finish
