#!/usr/bin/env bash
# A build that fails (the seed's "wget: command not found") leaves the record
# and the git log alone, is classed `recipe` with its hint, keeps its log, is
# retried by the next run, and ships once the recipe is fixed and committed.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo

# The test's build recipe: a script committed in the versions repo that fails
# the way the seed's anolis build did.
cat >"$V/dockerfiles/build-server.sh" <<'SH'
#!/bin/sh
echo "STEP 2/4: RUN wget -q https://example.invalid/openim-server-$1.tar.gz"
echo "/bin/sh: 1: wget: command not found" >&2
echo "error building at STEP \"RUN wget\": exit status 127" >&2
exit 127
SH
chmod +x "$V/dockerfiles/build-server.sh"
conf_set component.server.build 'dockerfiles/build-server.sh {version} {ref}'
git config -f "$V/tally.conf" --replace-all component.server.recipe dockerfiles/build-server.sh
commit_versions "build server with a script"
head0=$(git -C "$V" rev-parse HEAD)
n0=$(commits)
hint='fix the Dockerfile or build recipe; a recipe change re-runs it'

# --- first attempt fails ---
expect_exit "failing build exits 1" 1 tally run --json
cp "$T/last.out" "$T/run1.json"
check "run --json lines are valid, summary exit 1" json_ok "$T/run1.json" 1
att1=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/run1.json")
expect_eq "one server attempt event" "$(jq -s length <<<"$att1")" 1
expect_eq "attempt result" "$(jq -r .result <<<"$att1")" failed
expect_eq "attempt version" "$(jq -r .version <<<"$att1")" v3.8.1
expect_eq "attempt class" "$(jq -r .class <<<"$att1")" recipe
expect_eq "attempt hint" "$(jq -r .hint <<<"$att1")" "$hint"
expect_eq "no digest for a failed build" "$(jq -r .digest <<<"$att1")" null
id1=$(jq -r .attempt <<<"$att1")
log1=$(jq -r .log <<<"$att1")
check "attempt id is non-empty" test -n "$id1" -a "$id1" != null
check "log file kept" test -f "$log1"
check "log holds the failure text" grep -q "wget: command not found" "$log1"
check "log is in the state dir logs/server/" test "$(dirname "$log1")" = "$(state_dir)/logs/server"
check "build stage failed event" jq_ok "$T/run1.json" 'any(.[]; .event == "stage" and .component == "server" and .stage == "build" and .result == "failed")'
check "no push stage after a failed build" jq_ok "$T/run1.json" 'all(.[]; (.event == "stage" and .component == "server" and .stage == "push") | not)'
check "no record event" jq_ok "$T/run1.json" 'all(.[]; .event != "record")'
expect_eq "summary failed count" "$(tail -1 "$T/run1.json" | jq -r .failed)" 1
expect_eq "record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$head0"
expect_eq "commit count unchanged" "$(commits)" "$n0"
check "working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_eq "working-tree record unchanged" "$(sed -n 's/^server=//p' "$V/server-versions.txt")" v3.8.0
expect_eq ".env unchanged" "$(grep OPENIM_SERVER_VERSION "$V/.env")" "OPENIM_SERVER_VERSION=v3.8.0-anolis"
expect_eq "nothing pushed" "$(manifest_status v3.8.1-anolis)" 404
# ledger
l1=$(ledger_entry "$id1")
expect_eq "ledger entry for the attempt" "$(jq -r '.component + " " + .version + " " + .result + " " + .class' <<<"$l1")" "server v3.8.1 failed recipe"
expect_eq "ledger: not shipped, not recorded" "$(jq -r '[.shipped, .recorded] | map(tostring) | join(" ")' <<<"$l1")" "false false"
expect_eq "ledger build stage exit status" "$(jq -r '.stages[] | select(.stage == "build") | .exit' <<<"$l1")" 127
expect_eq "ledger log path" "$(jq -r .log <<<"$l1")" "$log1"

# status shows the failure without a network
expect_exit "status --json after failure" 0 tally status --json
st=$(jq -c 'select(.event == "status" and .component == "server")' "$T/last.out")
expect_eq "status state failed" "$(jq -r .state <<<"$st")" failed
expect_eq "status class recipe" "$(jq -r .class <<<"$st")" recipe
expect_eq "status candidate" "$(jq -r .candidate <<<"$st")" v3.8.1
expect_eq "status recorded" "$(jq -r .recorded <<<"$st")" v3.8.0
expect_eq "status built stays null" "$(jq -r .built <<<"$st")" null
check "status message names the failure" test "$(jq -r .message <<<"$st")" != null
expect_exit "logs prints the failed attempt" 0 tally logs server
check "logs output has the failure text" grep -q "wget: command not found" "$T/last.out"

# --- the next run retries: a new attempt, failed again ---
expect_exit "second run retries and fails again" 1 tally run --json
att2=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/last.out")
id2=$(jq -r .attempt <<<"$att2")
check "second attempt has a new id" test -n "$id2" -a "$id2" != null -a "$id2" != "$id1"
expect_eq "second attempt failed recipe" "$(jq -r '.result + " " + .class' <<<"$att2")" "failed recipe"
check "first log still kept" test -f "$log1"
expect_eq "two server log files" "$(count_logs server)" 2
expect_eq "two ledger lines for server" "$(ledger_lines server)" 2
expect_eq "record still unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "commit count still unchanged" "$(commits)" "$n0"

# --- fix the recipe, commit it, ship ---
cat >"$V/dockerfiles/build-server.sh" <<'SH'
#!/bin/sh
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="$1" -t "$2" -f dockerfiles/Containerfile.server dockerfiles
SH
commit_versions "fix the server build"
n1=$(commits)
expect_exit "run after the fix ships" 0 tally run --json
check "run --json valid, summary exit 0" json_ok "$T/last.out" 0
att3=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/last.out")
expect_eq "third attempt shipped" "$(jq -r .result <<<"$att3")" shipped
check "third attempt is new" test "$(jq -r .attempt <<<"$att3")" != "$id2"
expect_eq "record moved to v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "exactly one record commit" "$(commits)" $((n1 + 1))
expect_eq "record commit subject" "$(git -C "$V" log -1 --format=%s)" "record server v3.8.1"
check "record commit names the shipping attempt" grep -qx "Tally-Attempt: $(jq -r .attempt <<<"$att3")" <<<"$(git -C "$V" log -1 --format=%B)"
expect_eq "registry has the tag" "$(manifest_status v3.8.1-anolis)" 200
expect_exit "status after the fix" 0 tally status --json
expect_eq "state current" "$(jq -r 'select(.component == "server") | .state' "$T/last.out")" current
expect_eq "failed logs are kept" "$(count_logs server)" 3
finish
