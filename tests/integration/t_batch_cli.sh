#!/usr/bin/env bash
# The batch command line: exit codes, --json shape (SPEC section 8),
# --dry-run and --no-push change nothing, and a second tally while one holds
# the repo's lock exits 3.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
n0=$(commits)
head0=$(git -C "$V" rev-parse HEAD)

# --- usage ---
expect_exit "--help exits 0" 0 tally --help
check "--help prints usage on stdout" grep -q '^usage: tally' "$T/last.out"
check "--help lists run" grep -Eq '^ +run ' "$T/last.out"
expect_exit "--help after a command exits 0" 0 tally status --help
expect_exit "unknown command exits 2" 2 tally frobnicate
check "  error starts with 'tally: '" grep -q '^tally: ' "$T/last.err"
check "  error names the command" grep -q 'frobnicate' "$T/last.err"
check "  nothing on stdout" test ! -s "$T/last.out"
expect_exit "unknown option exits 2" 2 tally status --frobnicate
check "  error names the option" grep -q -- '--frobnicate' "$T/last.err"
expect_exit "unknown option before the command exits 2" 2 tally --frobnicate status
expect_exit "missing option argument exits 2" 2 tally run server --version
expect_exit "--version of an unknown component exits 2" 2 tally run nosuch --version v1.0.0
expect_exit "run of an unknown component exits 2" 2 tally run nosuch
expect_exit "history of an unknown component exits 2 (it listed every component)" 2 tally history nosuch
check "  and names it" grep -q "unknown component 'nosuch'" "$T/last.err"
expect_exit "pin of a mistyped component exits 2" 2 tally pin servr
check "  naming it, with the nearest name" grep -q "unknown component 'servr'; did you mean 'server'?" "$T/last.err"
expect_exit "--version without a component exits 2" 2 tally run --version v3.8.1
expect_exit "--version not newer than the record exits 2" 2 tally run server --version v3.8.0
expect_exit "--version older than the record exits 2" 2 tally run server --version v3.7.9
expect_exit "tally --version exits 0" 0 "$TALLY_BIN" --version
check "  prints a version" grep -Eq '[0-9]+\.[0-9]+' "$T/last.out"
expect_exit "a repo that is not a git repo exits 2" 2 "$TALLY_BIN" -C "$T" --no-tui status
expect_eq "usage errors changed nothing" "$(git -C "$V" rev-parse HEAD)" "$head0"
expect_eq "usage errors built nothing" "$(ledger_lines)" 0

# --- status and check --json shape ---
fields='["component","key","file","recorded","upstream","candidate","built","state","class","message","checked_at","retry_at","next_run"]'
expect_exit "check --json" 0 tally check --json
cp "$T/last.out" "$T/check.json"
check "check --json: every line schema 1, summary last with exit 0" json_ok "$T/check.json" 0
expect_eq "check --json: one check line per component in config order" \
	"$(jq -r 'select(.event == "check") | .component' "$T/check.json" | tr '\n' ' ')" "server chat "
check "check --json: all SPEC fields present" jq_ok "$T/check.json" --argjson f "$fields" \
	'[.[] | select(.event == "check")] | all(.[]; . as $o | all($f[]; . as $k | $o | has($k)))'
check "check --json: string-or-null fields" jq_ok "$T/check.json" \
	'[.[] | select(.event == "check")] | all(.[]; all(.recorded, .upstream, .candidate, .built, .class, .message, .retry_at, .next_run; type == "string" or type == "null"))'
s=$(jq -c 'select(.event == "check" and .component == "server")' "$T/check.json")
expect_eq "check server values" "$(jq -r '[.key, .file, .recorded, .upstream, .candidate, .built, .state, .class, .message] | map(tostring) | join(" ")' <<<"$s")" \
	"server server-versions.txt v3.8.0 v3.8.1 v3.8.1 null outdated null null"
check "check checked_at is ISO 8601 UTC" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<<"$(jq -r .checked_at <<<"$s")"
expect_eq "check summary counts" "$(tail -1 "$T/check.json" | jq -r '"\(.ok) \(.failed)"')" "2 0"
expect_exit "status --json" 0 tally status --json
cp "$T/last.out" "$T/status.json"
check "status --json: valid, summary exit 0" json_ok "$T/status.json" 0
expect_eq "status --json: only status lines and the summary" "$(jq -r .event "$T/status.json" | tr '\n' ' ')" "status status summary "
expect_eq "status --json: config order" "$(jq -r 'select(.event == "status") | .component' "$T/status.json" | tr '\n' ' ')" "server chat "
check "status --json: all SPEC fields present" jq_ok "$T/status.json" --argjson f "$fields" \
	'[.[] | select(.event == "status")] | all(.[]; . as $o | all($f[]; . as $k | $o | has($k)))'
expect_exit "status in plain text" 0 tally status
check "  plain text is not JSON" test "$(head -c1 "$T/last.out")" != "{"
check "  names both components" test "$(grep -Ec '^(server|chat) ' "$T/last.out")" = 2

# --- run --dry-run: a plan, nothing else ---
expect_exit "run --dry-run --json exits 0" 0 tally run --dry-run --json
cp "$T/last.out" "$T/dry.json"
check "dry-run --json: valid, summary exit 0" json_ok "$T/dry.json" 0
a=$(jq -c 'select(.event == "attempt")' "$T/dry.json")
expect_eq "dry-run: one planned attempt" "$(jq -r '.component + " " + .version + " " + .result' <<<"$a")" "server v3.8.1 planned"
expect_eq "dry-run: the action is ship" "$(jq -r .action <<<"$a")" ship
check "dry-run: no stage events" jq_ok "$T/dry.json" 'all(.[]; .event != "stage" and .event != "record")'
expect_eq "dry-run: no commit" "$(git -C "$V" rev-parse HEAD)" "$head0"
expect_eq "dry-run: no ledger entry" "$(ledger_lines)" 0
expect_eq "dry-run: no log file" "$(count_logs server)" 0
expect_eq "dry-run: nothing pushed" "$(manifest_status v3.8.1-anolis)" 404
check "dry-run: working tree clean" test -z "$(git -C "$V" status --porcelain)"

# --- run --no-push: builds, never records ---
expect_exit "run --no-push --json exits 0" 0 tally run --no-push --json
cp "$T/last.out" "$T/nopush.json"
expect_eq "no-push: the attempt did not ship" "$(jq -r 'select(.event == "attempt" and .component == "server") | .result' "$T/nopush.json" | grep -c shipped || true)" 0
check "no-push --json: valid, summary exit 0" json_ok "$T/nopush.json" 0
check "no-push: the build ran and succeeded" jq_ok "$T/nopush.json" 'any(.[]; .event == "stage" and .component == "server" and .stage == "build" and .result == "ok")'
check "no-push: no push/verify/record stage" jq_ok "$T/nopush.json" 'all(.[]; (.event == "stage" and (.stage == "push" or .stage == "verify" or .stage == "record" or .stage == "floating")) | not)'
check "no-push: no record event" jq_ok "$T/nopush.json" 'all(.[]; .event != "record")'
check "no-push: the build log exists" test "$(count_logs server)" = 1
expect_eq "no-push: record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "no-push: no commit" "$(git -C "$V" rev-parse HEAD)" "$head0"
for tag in v3.8.1-anolis v3.8.1 latest-anolis; do
	expect_eq "no-push: registry tag $tag absent" "$(manifest_status $tag)" 404
done
check "no-push: working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_exit "status after --no-push" 0 tally status --json
s=$(jq -c 'select(.component == "server")' "$T/last.out")
expect_eq "no-push: built is still null (nothing shipped)" "$(jq -r .built <<<"$s")" null
expect_eq "no-push: still outdated" "$(jq -r .state <<<"$s")" outdated

# --- a failing command: summary exit equals the process exit code ---
mv "$T/chat-upstream" "$T/chat-upstream.gone"
expect_exit "check with an unreadable upstream exits 1" 1 tally check --json
check "failing check --json: valid, summary exit 1" json_ok "$T/last.out" 1
expect_eq "failing check: summary counts" "$(tail -1 "$T/last.out" | jq -r '"\(.ok) \(.failed)"')" "1 1"
mv "$T/chat-upstream.gone" "$T/chat-upstream"
expect_exit "usage error with --json exits 2" 2 tally run nosuch --json
check "usage error --json: stdout empty or valid with summary exit 2" \
	bash -c '[ ! -s "$1" ] || jq -e -s ".[-1].event == \"summary\" and .[-1].exit == 2 and all(.[]; .schema == 1)" "$1" >/dev/null' _ "$T/last.out"

# --- the lock: a second tally while one runs exits 3 ---
cat >"$V/dockerfiles/build-slow.sh" <<'SH'
#!/bin/sh
echo "slow build of $1 starting"
# a helper that outlives the build and tally itself: it must not inherit
# the lock (tally opens it O_CLOEXEC)
setsid sleep 60 </dev/null >/dev/null 2>&1 &
echo $! >"$3"
sleep 5
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="$1" -t "$2" -f dockerfiles/Containerfile.server dockerfiles
SH
chmod +x "$V/dockerfiles/build-slow.sh"
conf_set component.server.build "dockerfiles/build-slow.sh {version} {ref} $T/stray.pid"
commit_versions "slow server build"
n1=$(commits)
logs_before=$(count_logs server)
tally run --json >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
PIDS+=("$bg")
for _ in $(seq 100); do
	[ "$(count_logs server)" -gt "$logs_before" ] && break
	sleep 0.1
done
check "background run reached the build" test "$(count_logs server)" -gt "$logs_before"
check "lock file is in the git dir" test -e "$V/.git/tally.lock"
# the batch run's in-process engine listens on the socket like serve (SPEC
# section 8): a second command is handed to it instead of failing
expect_exit "status while another tally holds the lock is handed to it, exit 0" 0 tally status
check "  it shows the build in flight" grep -Eq '^server .* building' "$T/last.out"
expect_exit "status --json while locked is handed over too" 0 tally status --json
check "  a summary with exit 0" \
	bash -c 'jq -e -s ".[-1].event == \"summary\" and .[-1].exit == 0" "$1" >/dev/null' _ "$T/last.out"
check "background run still running after the handed commands" kill -0 "$bg"
# a run meeting the attempt in flight waits for it (SPEC section 7)
expect_exit "run while another tally runs waits for it, exit 0" 0 tally run
check "  it says it waits" grep -q 'already running.*waiting for it' "$T/last.err"
rc=0; wait "$bg" || rc=$?
expect_eq "background run exits 0" "$rc" 0
check "background run --json valid, summary exit 0" json_ok "$T/bg.out" 0
expect_eq "background run recorded v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "exactly one record commit" "$(commits)" $((n1 + 1))
expect_eq "only the background run built" "$(ledger_lines server)" 2
check "the build's detached helper is still alive" kill -0 "$(cat "$T/stray.pid" 2>/dev/null || echo 0)"
expect_exit "after tally exits, status works although the build's helper lives on" 0 tally status
kill "$(cat "$T/stray.pid")" 2>/dev/null || true
finish
