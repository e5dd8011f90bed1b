#!/usr/bin/env bash
# Hostile input: upstream tags with shell syntax or over-long names are
# ignored with a warning naming them and never executed; a hostile --version
# is a usage error; malformed version files and an unknown tally.conf key are
# input errors naming file:line, and nothing is written.
. "$(dirname "$0")/lib.sh"
start_registry
# every payload would create a file under $T/pwn if a shell ever saw it
mkdir -p "$T/pwn"
semi="v9;touch\${IFS}$T/pwn/semi"
subst="v3.9.0\$(touch\${IFS}$T/pwn/subst)"
btick="v3.9.1\`touch\${IFS}$T/pwn/btick\`"
pipe="v3.9.2|touch\${IFS}$T/pwn/pipe"
long="v9.9.$(printf '9%.0s' $(seq 195))"
make_upstream v3.8.0 v3.8.1 "$semi" "$subst" "$btick" "$pipe" "$long"
expect_eq "the long tag is 200 characters" "${#long}" 200
expect_eq "upstream really holds the hostile tags" "$(git -C "$UP" tag | wc -l | tr -d ' ')" 7
make_chat_upstream v1.0.0
make_versions_repo
n0=$(commits)

expect_exit "run ships the valid newest tag" 0 tally run --json
cp "$T/last.out" "$T/run.json"; cp "$T/last.err" "$T/run.err"
check "run --json valid" json_ok "$T/run.json" 0
for t in "$semi" "$subst" "$btick" "$pipe" "$long"; do
	check "warning names ${t:0:40}..." grep -qF -- "$t" "$T/run.err"
done
check "warnings start with 'tally: '" test "$(grep -cvF 'tally: ' "$T/run.err" || true)" = 0
expect_eq "nothing executed" "$(ls -A "$T/pwn")" ""
check "no stray files in the repo" test -z "$(git -C "$V" status --porcelain --ignored)"
expect_eq "record moved only to the valid newest tag" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "one commit" "$(commits)" $((n0 + 1))
check "no hostile text in the commit" test -z "$(git -C "$V" log -1 --format=%B | grep -F -e 'touch' -e '9999999999' || true)"
check "no attempt for a hostile tag" jq_ok "$T/run.json" 'all(.[]; .event != "attempt" or .version == "v3.8.1")'
check "no log file named after a hostile tag" test -z "$(find "$(state_dir)" -name '*touch*' -o -name '*\$*' -o -name '*;*')"
expect_exit "check --json with hostile tags" 0 tally check --json
expect_eq "upstream is the valid newest" "$(jq -r 'select(.event == "check" and .component == "server") | .upstream' "$T/last.out")" v3.8.1
expect_eq "state current" "$(jq -r 'select(.event == "check" and .component == "server") | .state' "$T/last.out")" current
expect_eq "still nothing executed" "$(ls -A "$T/pwn")" ""

# --- a hostile --version ---
mkdir -p "$V/x" && touch "$V/x/keep" && echo /x/ >>"$V/.git/info/exclude"
n1=$(commits)
for bad in 'v1;rm -rf x' 'v3.9.0$(touch x/y)' '../../etc' '-rf' "$long" ''; do
	expect_exit "run --version '${bad:0:30}' exits 2" 2 tally run server --version "$bad"
	check "  error on stderr starts with 'tally: '" grep -q '^tally: ' "$T/last.err"
done
check "canary x/keep still there" test -f "$V/x/keep"
check "nothing created in x/" test "$(ls -A "$V/x")" = keep
expect_eq "no commit from hostile --version" "$(commits)" "$n1"
expect_eq "record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "no attempt from hostile --version" "$(ledger_lines server)" 1
expect_eq "still nothing executed" "$(ls -A "$T/pwn")" ""

# --- malformed version files: exit 2 naming file:line, nothing written ---
# each case: the committed file content and the line that is wrong
bad_file() { # DESC LINE CONTENT
	local d=$1 line=$2 n h
	git -C "$V" reset -q --hard "$good"
	printf '%b' "$3" >"$V/server-versions.txt"
	commit_versions "bad version file: $d"
	n=$(commits); h=$(git -C "$V" rev-parse HEAD)
	cp "$V/server-versions.txt" "$T/before"
	expect_exit "$d: run exits 2" 2 tally run
	check "$d: message names server-versions.txt:$line" grep -q "server-versions.txt:$line" "$T/last.err"
	check "$d: file byte for byte unchanged" cmp -s "$T/before" "$V/server-versions.txt"
	expect_eq "$d: no commit" "$(commits)" "$n"
	expect_eq "$d: HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$h"
	check "$d: working tree clean" test -z "$(git -C "$V" status --porcelain)"
	expect_eq "$d: nothing built" "$(ledger_lines server)" 1
}
git -C "$V" tag hostile-good
good=hostile-good
git -C "$UP" tag v3.8.2   # a candidate exists, so a run would ship if it could
bad_file "missing '='" 2 '# versions shipped by tally\nserver v3.8.0\n'
bad_file "duplicate key" 3 '# versions shipped by tally\nserver=v3.8.1\nserver=v3.8.1\n'
bad_file "empty value" 3 '# versions shipped by tally\n\nserver=\n'
git -C "$V" reset -q --hard "$good"

# --- an unknown key in tally.conf: exit 2 naming file:line ---
awk '{print} /^\[tally\]/{print "\tfrobnicate = yes"}' "$V/tally.conf" >"$T/conf" && cp "$T/conf" "$V/tally.conf"
line=$(grep -n frobnicate "$V/tally.conf" | cut -d: -f1)
commit_versions "unknown key"
n2=$(commits)
for cmd in run status check; do
	expect_exit "unknown conf key: $cmd exits 2" 2 tally "$cmd"
	check "  message names tally.conf:$line" grep -q "tally.conf:$line" "$T/last.err"
	check "  message names the key" grep -qi "frobnicate" "$T/last.err"
done
expect_eq "unknown conf key: no commit" "$(commits)" "$n2"
expect_eq "unknown conf key: record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "unknown conf key: nothing built" "$(ledger_lines server)" 1
finish
