#!/usr/bin/env bash
# Components are independent: with two new upstream versions, one failing
# build does not block or undo the other's record. Once serially, once with
# parallelBuilds = 2 (the failing component first in config order there).
. "$(dirname "$0")/lib.sh"
start_registry

# scenario FAILING GOOD GOOD_FILE GOOD_NEW: one run, then the assertions
scenario() {
	local bad=$1 good=$2 goodfile=$3 goodnew=$4 p="[parallel=${PARALLEL:-1}]"
	local n0 badfile badold goodold
	# a real recipe failure: COPY of a file that does not exist
	printf 'FROM scratch\nCOPY no-such-file.txt /x\n' >"$V/dockerfiles/Containerfile.$bad"
	commit_versions "break $bad"
	n0=$(commits)
	badfile=$(git config -f "$V/tally.conf" "component.$bad.file")
	badold=$(record_of "$badfile" "$bad")
	goodold=$(record_of "$goodfile" "$good")
	expect_exit "$p one failure, one ship: exit 1" 1 tally run --json
	cp "$T/last.out" "$T/run-$bad.json"
	check "$p run --json valid, summary exit 1" json_ok "$T/run-$bad.json" 1
	expect_eq "$p summary counts" "$(tail -1 "$T/run-$bad.json" | jq -r '"\(.ok) \(.failed)"')" "1 1"
	expect_eq "$p $bad attempt failed recipe" "$(jq -r --arg c "$bad" 'select(.event == "attempt" and .component == $c) | .result + " " + .class' "$T/run-$bad.json")" "failed recipe"
	expect_eq "$p $good attempt shipped" "$(jq -r --arg c "$good" 'select(.event == "attempt" and .component == $c) | .result' "$T/run-$bad.json")" shipped
	expect_eq "$p one record event, for $good" "$(jq -r 'select(.event == "record") | .component + " " + .version' "$T/run-$bad.json")" "$good $goodnew"
	expect_eq "$p $good record moved" "$(record_of "$goodfile" "$good")" "$goodnew"
	expect_eq "$p $bad record unchanged" "$(record_of "$badfile" "$bad")" "$badold"
	check "$p $good record was old before" test "$goodold" != "$goodnew"
	expect_eq "$p exactly one new commit" "$(commits)" $((n0 + 1))
	expect_eq "$p the commit records $good" "$(git -C "$V" log -1 --format=%s)" "record $good $goodnew"
	expect_eq "$p the commit touches only $good's files" \
		"$(git -C "$V" show --name-only --format= HEAD | grep -c -e "$badfile" || true)" 0
	check "$p working tree clean" test -z "$(git -C "$V" status --porcelain)"
	check "$p $bad log kept with the failure" grep -q "no-such-file.txt" "$(jq -r --arg c "$bad" 'select(.event == "attempt" and .component == $c) | .log' "$T/run-$bad.json")"
	expect_exit "$p status --json" 0 tally status --json
	expect_eq "$p $bad state failed" "$(jq -r --arg c "$bad" 'select(.component == $c) | .state' "$T/last.out")" failed
	expect_eq "$p $good state current" "$(jq -r --arg c "$good" 'select(.component == $c) | .state' "$T/last.out")" current
	expect_eq "$p ledger: one line per component" "$(ledger_lines "$bad") $(ledger_lines "$good")" "1 1"
}

# serial: chat fails, server ships
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0 v1.1.0
make_versions_repo
scenario chat server server-versions.txt v3.8.1

# parallel: server (first in config order) fails, chat ships
chmod -R u+w "$T/versions" "$T/remote.git" "$T/upstream" "$T/chat-upstream" "$T/state"
rm -rf "$T/versions" "$T/remote.git" "$T/upstream" "$T/chat-upstream" "$T/state"
mkdir -p "$XDG_STATE_HOME"
make_upstream v3.8.0 v3.8.2
make_chat_upstream v1.0.0 v1.2.0
PARALLEL=2 make_versions_repo
expect_eq "parallelBuilds is 2" "$(git config -f "$V/tally.conf" tally.parallelBuilds)" 2
PARALLEL=2 scenario server chat chat-versions.txt v1.2.0
finish
