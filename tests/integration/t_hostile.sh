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

expect_exit "run ships the valid newest tag" 0 tally run
cp "$T/last.out" "$T/run.out"; cp "$T/last.err" "$T/run.err"
for t in "$semi" "$subst" "$btick" "$pipe"; do
	check "stderr warning names ${t:0:40}..." grep -qF -- "$t" "$T/run.err"
done
check "stderr warning names the 200-character tag (its first 60 characters)" grep -qF -- "${long:0:60}" "$T/run.err"
# the warning shows at most 80 characters of a tag; a cut must be marked, or
# the 80 characters shown would read as a valid tag
check "the long tag's warning shows it whole or marks the cut" \
	grep -Eq -- "'${long}'|'${long:0:20}9*(\.\.\.|…)'" "$T/run.err"
check "stderr lines start with 'tally: '" test "$(grep -cv '^tally: ' "$T/run.err" || true)" = 0
expect_eq "nothing executed" "$(ls -A "$T/pwn")" ""
check "no stray files in the repo" test -z "$(git -C "$V" status --porcelain --ignored)"
expect_eq "record moved only to the valid newest tag" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "one commit" "$(commits)" $((n0 + 1))
check "no hostile text in the commit" test -z "$(git -C "$V" log -1 --format=%B | grep -F -e 'touch' -e '9999999999' || true)"
expect_eq "one attempt, for v3.8.1" "$(jq -r '.id + " " + .version' "$(state_dir)/ledger.jsonl" | sort -u | cut -d' ' -f2 | tr '\n' ' ')" "v3.8.1 "
check "no log file named after a hostile tag" test -z "$(find "$(state_dir)" -name '*touch*' -o -name '*\$*' -o -name '*;*')"
expect_exit "check --json with hostile tags" 0 tally check --json
cp "$T/last.out" "$T/check.json"
check "check --json valid" json_ok "$T/check.json" 0
for t in "$semi" "$subst" "$btick" "$pipe"; do
	check "json warning event names ${t:0:40}..." jq_ok "$T/check.json" --arg t "$t" 'any(.[]; .event == "error" and .component == "server" and (.message | contains($t)))'
done
expect_eq "upstream is the valid newest" "$(jq -r 'select(.event == "check" and .component == "server") | .upstream' "$T/check.json")" v3.8.1
expect_eq "state current" "$(jq -r 'select(.event == "check" and .component == "server") | .state' "$T/check.json")" current
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
	local d=$1 line=$2 n h l
	git -C "$V" reset -q --hard "$good"
	printf '%b' "$3" >"$V/server-versions.txt"
	commit_versions "bad version file: $d"
	n=$(commits); h=$(git -C "$V" rev-parse HEAD)
	cp "$V/server-versions.txt" "$T/before"
	l=$(ledger_lines server)
	expect_exit "$d: run exits 2" 2 tally run
	check "$d: message names server-versions.txt:$line" grep -q "server-versions.txt:$line" "$T/last.err"
	check "$d: file byte for byte unchanged" cmp -s "$T/before" "$V/server-versions.txt"
	expect_eq "$d: no commit" "$(commits)" "$n"
	expect_eq "$d: HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$h"
	check "$d: working tree clean" test -z "$(git -C "$V" status --porcelain)"
	expect_eq "$d: nothing built" "$(ledger_lines server)" "$l"
}
git -C "$V" tag hostile-good
good=hostile-good
git -C "$UP" tag v3.8.2   # a candidate exists, so a run would ship if it could
bad_file "missing '='" 2 '# versions shipped by tally\nserver v3.8.0\n'
bad_file "duplicate key" 3 '# versions shipped by tally\nserver=v3.8.1\nserver=v3.8.1\n'
bad_file "empty value" 3 '# versions shipped by tally\n\nserver=\n'
# a recorded value that is not a valid version is an input error like the
# other malformed lines, before anything is built
bad_file "hostile recorded value" 2 '# versions shipped by tally\nserver=v3.8.0;touch${IFS}pwned\n'
check "hostile recorded value: nothing executed" test ! -e "$V/pwned" -a ! -e "$T/pwned"
git -C "$V" reset -q --hard "$good"

# --- an unknown key in tally.conf: exit 2 naming file:line ---
awk '{print} /^\[tally\]/{print "\tfrobnicate = yes"}' "$V/tally.conf" >"$T/conf" && cp "$T/conf" "$V/tally.conf"
line=$(grep -n frobnicate "$V/tally.conf" | cut -d: -f1)
commit_versions "unknown key"
n2=$(commits); l2=$(ledger_lines server)
for cmd in run status check; do
	expect_exit "unknown conf key: $cmd exits 2" 2 tally "$cmd"
	check "  message names tally.conf:$line" grep -q "tally.conf:$line" "$T/last.err"
	check "  message names the key" grep -qi "frobnicate" "$T/last.err"
done
expect_eq "unknown conf key: no commit" "$(commits)" "$n2"
expect_eq "unknown conf key: record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "unknown conf key: nothing built" "$(ledger_lines server)" "$l2"

# --- a tally.conf syntax error and a missing required key ---
git -C "$V" reset -q --hard "$good"
awk '{print} /^\[registry\]/{print "[component \"broken\""}' "$V/tally.conf" >"$T/conf" && cp "$T/conf" "$V/tally.conf"
line=$(grep -n 'broken' "$V/tally.conf" | cut -d: -f1)
commit_versions "syntax error"
n3=$(commits); l3=$(ledger_lines server)
expect_exit "conf syntax error: run exits 2" 2 tally run
check "  message names tally.conf:$line" grep -q "tally.conf:$line" "$T/last.err"
expect_eq "conf syntax error: no commit" "$(commits)" "$n3"
expect_eq "conf syntax error: nothing built" "$(ledger_lines server)" "$l3"
git -C "$V" reset -q --hard "$good"
git config -f "$V/tally.conf" --unset component.chat.build
commit_versions "chat has no build"
n4=$(commits); l4=$(ledger_lines server)
expect_exit "missing build key: run exits 2" 2 tally run
check "  message names tally.conf" grep -q "tally.conf" "$T/last.err"
check "  message names the key" grep -Eq "build" "$T/last.err"
check "  message names the component" grep -q "chat" "$T/last.err"
expect_eq "missing build key: no commit" "$(commits)" "$n4"
expect_eq "missing build key: nothing built" "$(ledger_lines server)" "$l4"
finish
