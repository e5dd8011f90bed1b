#!/usr/bin/env bash
# Operator procedures (SPEC section 7) on real parts: skip/unskip, run,
# rebuild, reset (with and without building), pin/unpin, retry, a skip that
# lands on HEAD while an attempt runs, pause/resume, history, attempts and
# verify (working tree edited by hand, a tag deleted from the registry,
# --strict on a record committed by hand).
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1 v3.8.2
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build
IMG=test/openim-server
digest_of() { manifest_digest "$IMG" "$1"; }
head_rev() { git -C "$V" rev-parse HEAD; }
candidate() { tally check server --json | jq -r 'select(.event == "check") | .candidate'; }

expect_eq "the candidate starts at v3.8.2" "$(candidate)" v3.8.2

# --- skip -------------------------------------------------------------------
n=$(commits)
expect_exit "skip server v3.8.2" 0 tally skip server v3.8.2 --reason "bad release" --json
cp "$T/last.out" "$T/skip.json"
check "  --json: valid, summary exit 0" json_ok "$T/skip.json" 0
check "  --json: a hold event with action skip and the commit" jq_ok "$T/skip.json" --arg h "$(head_rev)" \
	'any(.[]; .event == "hold" and .component == "server" and .version == "v3.8.2" and .action == "skip" and .commit == $h)'
expect_eq "  one new commit" "$(commits)" $((n + 1))
expect_eq "  the commit touches only the holds file" "$(files_of HEAD)" "tally-holds.txt "
expect_eq "  subject" "$(git -C "$V" log -1 --format=%s)" "skip server v3.8.2"
expect_eq "  Tally-Action: skip" "$(commit_trailer HEAD Tally-Action)" skip
expect_eq "  Tally-Component: server" "$(commit_trailer HEAD Tally-Component)" server
expect_eq "  Tally-Version: v3.8.2" "$(commit_trailer HEAD Tally-Version)" v3.8.2
check "  the holds file has the skip line with its reason" grep -qx 'skip server v3.8.2 bad release' "$V/tally-holds.txt"
expect_eq "  the record is untouched" "$(record_of server-versions.txt server)" v3.8.0
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_eq "  the candidate moves to the newest non-skipped version" "$(candidate)" v3.8.1

n=$(commits)
expect_exit "a duplicate skip exits 2" 2 tally skip server v3.8.2
check "  error starts with 'tally: '" grep -q '^tally: ' "$T/last.err"
expect_exit "skip of an invalid version exits 2" 2 tally skip server 'v3.8.2;rm'
expect_exit "skip of an unknown component exits 2" 2 tally skip nosuch v1.0.0
expect_eq "  the refusals made no commit" "$(commits)" "$n"

# --- unskip -----------------------------------------------------------------
expect_exit "unskip server v3.8.2" 0 tally unskip server v3.8.2
expect_eq "  one new commit" "$(commits)" $((n + 1))
expect_eq "  the commit touches only the holds file" "$(files_of HEAD)" "tally-holds.txt "
expect_eq "  Tally-Action: unskip" "$(commit_trailer HEAD Tally-Action)" unskip
check "  the skip line is gone" bash -c '! grep -q "^skip server v3.8.2" "$1"' _ "$V/tally-holds.txt"
expect_eq "  the candidate is v3.8.2 again" "$(candidate)" v3.8.2
expect_exit "unskip of a version that is not skipped exits 2" 2 tally unskip server v3.8.2

# --- run ships the newest non-skipped version ---------------------------------
expect_exit "skip server v3.8.2 again" 0 tally skip server v3.8.2
n=$(commits)
expect_exit "run ships the candidate" 0 tally run
expect_eq "  the record is v3.8.1, not the skipped v3.8.2" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "  one record commit" "$(commits)" $((n + 1))
expect_eq "  files of the record commit" "$(files_of HEAD)" ".env server-versions.txt "
D1=$(commit_trailer HEAD Tally-Digest)
for tag in v3.8.1-anolis v3.8.1 latest-anolis; do
	expect_eq "  registry $tag has the recorded digest" "$(digest_of $tag)" "${D1:-<none>}"
done
expect_exit "verify exits 0 when all is well" 0 tally verify server --json
check "  verify --json: ok, no problems" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .component == "server" and .ok == true and (.problems | length) == 0)'

# --- rebuild ------------------------------------------------------------------
expect_exit "rebuild with no component and no --all exits 2" 2 tally rebuild
n=$(commits)
expect_exit "rebuild server v3.8.1" 0 tally rebuild server
expect_eq "  one new commit" "$(commits)" $((n + 1))
expect_eq "  subject" "$(git -C "$V" log -1 --format=%s)" "rebuild server v3.8.1"
expect_eq "  Tally-Action: rebuild" "$(commit_trailer HEAD Tally-Action)" rebuild
expect_eq "  the commit changes no file" "$(files_of HEAD)" ""
D2=$(commit_trailer HEAD Tally-Digest)
check "  a new Tally-Digest" test -n "$D2" -a "$D2" != "$D1"
expect_eq "  the record stays v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
for tag in v3.8.1-anolis v3.8.1 latest-anolis; do
	expect_eq "  registry $tag moved to the new digest" "$(digest_of $tag)" "${D2:-<none>}"
done
expect_exit "verify exits 0 after the rebuild" 0 tally verify server

# --- reset --------------------------------------------------------------------
n=$(commits)
expect_exit "reset to the recorded version exits 2" 2 tally reset server v3.8.1
expect_exit "reset to a newer version exits 2" 2 tally reset server v3.8.2
expect_exit "reset --no-build to a version never shipped exits 1" 1 tally reset server v3.7.0 --no-build
expect_eq "  no commit" "$(commits)" "$n"
expect_eq "  record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "  nothing pushed for v3.7.0" "$(manifest_status v3.7.0-anolis)" 404
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_exit "reset --no-build to v3.8.0 (a record not made by tally, no image) exits 1" 1 tally reset server v3.8.0 --no-build
expect_eq "  no commit" "$(commits)" "$n"

expect_eq "v3.8.0 is missing from the registry" "$(manifest_status v3.8.0-anolis)" 404
expect_exit "reset server v3.8.0 ships it first" 0 tally reset server v3.8.0 --json
cp "$T/last.out" "$T/reset1.json"
check "  the build ran" jq_ok "$T/reset1.json" 'any(.[]; .event == "stage" and .stage == "build" and .result == "ok")'
check "  a record event with action reset" jq_ok "$T/reset1.json" \
	'any(.[]; .event == "record" and .component == "server" and .version == "v3.8.0" and .action == "reset" and .previous == "v3.8.1")'
expect_eq "  the record moved back to v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "  one commit (reset and pin together)" "$(commits)" $((n + 1))
expect_eq "  the commit touches the version file, the holds file and .env" "$(files_of HEAD)" ".env server-versions.txt tally-holds.txt "
expect_eq "  Tally-Action: reset" "$(commit_trailer HEAD Tally-Action)" reset
expect_eq "  Tally-Previous: v3.8.1" "$(commit_trailer HEAD Tally-Previous)" v3.8.1
check "  the holds file pins server at v3.8.0" grep -q '^pin server v3.8.0' "$V/tally-holds.txt"
expect_eq "  .env follows" "$(grep OPENIM_SERVER_VERSION "$V/.env")" "OPENIM_SERVER_VERSION=v3.8.0-anolis"
D3=$(commit_trailer HEAD Tally-Digest)
for tag in v3.8.0-anolis v3.8.0 latest-anolis; do
	expect_eq "  registry $tag has the reset digest" "$(digest_of $tag)" "${D3:-<none>}"
done

# --- pinned ---------------------------------------------------------------------
n=$(commits); attempts0=$(ledger_lines server)
expect_exit "run while pinned exits 0" 0 tally run --json
expect_eq "  upstream (v3.8.2 skipped, v3.8.1 newer) is ahead of the record" "$(tally check server --json | jq -r 'select(.event == "check") | "\(.recorded) \(.upstream)"')" "v3.8.0 v3.8.2"
expect_eq "  no new commit" "$(commits)" "$n"
expect_eq "  nothing built" "$(ledger_lines server)" "$attempts0"
expect_exit "  status says pinned" 0 tally status --json
expect_eq "  state pinned, no candidate, no next run" \
	"$(jq -r 'select(.component == "server") | "\(.state) \(.candidate) \(.next_run)"' "$T/last.out")" "pinned null null"
expect_exit "run server --version v3.8.1 while pinned exits 2" 2 tally run server --version v3.8.1
expect_exit "pin while pinned exits 2" 2 tally pin server
expect_eq "  no new commit" "$(commits)" "$n"
expect_exit "unpin server" 0 tally unpin server
expect_eq "  one commit, only the holds file" "$(commits) $(files_of HEAD)" "$((n + 1)) tally-holds.txt "
expect_eq "  Tally-Action: unpin" "$(commit_trailer HEAD Tally-Action)" unpin
expect_exit "run after unpin ships" 0 tally run
expect_eq "  the record is v3.8.1 again" "$(record_of server-versions.txt server)" v3.8.1
D4=$(commit_trailer HEAD Tally-Digest)
expect_eq "  latest-anolis follows" "$(digest_of latest-anolis)" "${D4:-<none>}"

# --- reset --no-build to a version recorded before --------------------------------
n=$(commits)
expect_exit "reset --no-build to v3.8.0 (recorded before, tags intact)" 0 tally reset server v3.8.0 --no-build --json
cp "$T/last.out" "$T/reset2.json"
check "  no build stage" jq_ok "$T/reset2.json" 'all(.[]; (.event == "stage" and .stage == "build") | not)'
expect_exit "  logs of that attempt" 0 tally logs server
check "  the attempt log has no build line" bash -c '! grep -q "^build: \|ctl build of" "$1"' _ "$T/last.out"
expect_eq "  the record is v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "  one commit" "$(commits)" $((n + 1))
expect_eq "  Tally-Digest is the digest recorded before" "$(commit_trailer HEAD Tally-Digest)" "${D3:-<none>}"
expect_eq "  latest-anolis moved to that digest" "$(digest_of latest-anolis)" "${D3:-<none>}"
check "  pinned again" grep -q '^pin server v3.8.0' "$V/tally-holds.txt"
expect_exit "unpin" 0 tally unpin server
expect_exit "run ships v3.8.1 again" 0 tally run
expect_eq "  record v3.8.1" "$(record_of server-versions.txt server)" v3.8.1

# --- retry ----------------------------------------------------------------------
expect_exit "retry with nothing failed exits 2" 2 tally retry server
git -C "$UP" tag v3.8.3
touch "$CTL/fail-v3.8.3"
expect_exit "run with a build failing for v3.8.3 exits 1" 1 tally run --json
check "  attempt failed with class recipe and its hint" jq_ok "$T/last.out" \
	'any(.[]; .event == "attempt" and .version == "v3.8.3" and .result == "failed" and .class == "recipe" and (.hint | length) > 0)'
a1=$(last_attempt_id server)
n=$(commits)
expect_exit "retry re-runs the failed version and fails again" 1 tally retry server --json
a2=$(last_attempt_id server)
check "  a new attempt id" test -n "$a2" -a "$a2" != "$a1"
expect_eq "  of the same version" "$(jq -r 'select(.event == "attempt") | .version' "$T/last.out")" v3.8.3
expect_eq "  no commit" "$(commits)" "$n"
rm -f "$CTL/fail-v3.8.3"
expect_exit "retry after the fix ships" 0 tally retry server
expect_eq "  record v3.8.3" "$(record_of server-versions.txt server)" v3.8.3
expect_exit "retry after a ship exits 2" 2 tally retry server
git -C "$UP" tag v3.8.4
touch "$CTL/fail-v3.8.4"
expect_exit "v3.8.4 fails" 1 tally run
expect_exit "skip v3.8.4" 0 tally skip server v3.8.4
n=$(commits); la=$(ledger_lines server)
expect_exit "retry of a version skipped meanwhile exits 2" 2 tally retry server
expect_eq "  nothing built, no commit" "$(ledger_lines server) $(commits)" "$la $n"
rm -f "$CTL/fail-v3.8.4"

# --- a skip that lands on HEAD while the attempt runs -----------------------------
git -C "$UP" tag v3.8.5
touch "$CTL/skip-during-v3.8.5"
n=$(commits)
expect_exit "a skip committed during the build cancels the record (exit 1)" 1 tally run --json
cp "$T/last.out" "$T/held.json"
check "  the attempt ends cancelled with class held" jq_ok "$T/held.json" \
	'any(.[]; .event == "attempt" and .version == "v3.8.5" and .result == "cancelled" and .class == "held")'
check "  no record event" jq_ok "$T/held.json" 'all(.[]; .event != "record")'
expect_eq "  the record does not move" "$(record_of server-versions.txt server)" v3.8.3
expect_eq "  only the hand-made skip commit was added" "$(commits)" $((n + 1))
expect_eq "  HEAD is the hand-made skip" "$(git -C "$V" log -1 --format=%s)" "skip server v3.8.5 by hand"
expect_eq "  the ledger says cancelled/held" "$(ledger_entry "$(last_attempt_id server)" | jq -r '"\(.result) \(.class)"')" "cancelled held"
rm -f "$CTL/skip-during-v3.8.5"

# --- pause / resume ---------------------------------------------------------------
SD=$(state_dir)
expect_exit "pause" 0 tally pause
check "  STATE/paused exists" test -e "$SD/paused"
expect_exit "  status still works while paused" 0 tally status --json
expect_eq "  no next run while paused" "$(jq -r 'select(.component == "server") | .next_run' "$T/last.out")" null
expect_exit "resume" 0 tally resume
check "  STATE/paused is gone" test ! -e "$SD/paused"

# --- history and attempts ----------------------------------------------------------
expect_exit "history --json" 0 tally history server --json
cp "$T/last.out" "$T/hist.json"
check "  valid, summary exit 0" json_ok "$T/hist.json" 0
expect_eq "  record and hold commits, newest first" \
	"$(jq -r 'select(.event == "record" or .event == "hold") | "\(.event):\(.action):\(.version)"' "$T/hist.json" | tr '\n' ' ')" \
	"hold:skip:v3.8.4 record:ship:v3.8.3 record:ship:v3.8.1 hold:unpin:v3.8.0 record:reset:v3.8.0 record:ship:v3.8.1 hold:unpin:v3.8.0 record:reset:v3.8.0 record:rebuild:v3.8.1 record:ship:v3.8.1 hold:skip:v3.8.2 hold:unskip:v3.8.2 hold:skip:v3.8.2 "
check "  every event names its commit, and the commits are the log's" jq_ok "$T/hist.json" \
	--arg log "$(git -C "$V" log --format=%H | tr '\n' ' ')" \
	'[.[] | select(.event == "record" or .event == "hold")] | all(.[]; . as $e | ($e.commit | test("^[0-9a-f]{40}$")) and ($log | contains($e.commit)))'
check "  record events carry digest and attempt trailers" jq_ok "$T/hist.json" \
	'[.[] | select(.event == "record")] | all(.[]; (.digest | test("^sha256:")) and (.attempt | type == "string"))'
expect_eq "  the first rebuild event carries D2" "$(jq -r 'select(.event == "record" and .action == "rebuild") | .digest' "$T/hist.json")" "${D2:-<none>}"
expect_exit "history in plain text" 0 tally history server
check "  names the subjects" grep -q 'rebuild server v3.8.1' "$T/last.out"
expect_exit "attempts --json" 0 tally attempts server --json
cp "$T/last.out" "$T/att.json"
check "  valid, summary exit 0" json_ok "$T/att.json" 0
expect_eq "  newest first" "$(jq -r 'select(.event == "attempt") | .attempt' "$T/att.json" | head -1)" "$(last_attempt_id server)"
check "  ended times never increase" jq_ok "$T/att.json" \
	'[.[] | select(.event == "attempt") | .ended] | . == (sort | reverse)'
expect_eq "  the first two: the held one, then the failed v3.8.4" \
	"$(jq -r 'select(.event == "attempt") | "\(.version):\(.result)"' "$T/att.json" | head -2 | tr '\n' ' ')" "v3.8.5:cancelled v3.8.4:failed "
expect_exit "attempts --limit 2" 0 tally attempts server --limit 2 --json
expect_eq "  two lines" "$(jq -r 'select(.event == "attempt") | .attempt' "$T/last.out" | wc -l)" 2

# --- verify ------------------------------------------------------------------------
expect_exit "verify server exits 0" 0 tally verify server
cp "$V/server-versions.txt" "$T/sv.bak"
sed -i 's/^server=.*/server=v3.8.4/' "$V/server-versions.txt"
expect_exit "verify exits 4 after the record line is edited by hand" 4 tally verify server --json
check "  the problem names the working tree" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .ok == false and any(.problems[]; test("working tree")))'
git -C "$V" checkout -q -- server-versions.txt
expect_exit "verify exits 0 once restored" 0 tally verify server

# chat=v1.0.0 is the seed's record, committed by hand; push its image by hand
buildah --storage-driver vfs build --isolation chroot -q -t "$REG/test/openim-chat:v1.0.0" \
	-f "$V/dockerfiles/Containerfile.chat" "$V/dockerfiles" >/dev/null 2>&1
buildah --storage-driver vfs push -q --tls-verify=false "$REG/test/openim-chat:v1.0.0" >/dev/null 2>&1
expect_exit "verify of a record not made by tally exits 0" 0 tally verify chat --json
check "  with a 'not made by tally' warning" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .component == "chat" and .ok == true and (.warnings | length) == 1)'
expect_exit "verify --strict makes the warning a problem (exit 4)" 4 tally verify chat --strict --json
check "  the warning is now a problem" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .component == "chat" and .ok == false and any(.problems[]; test("not made by tally")))'

# a floating tag moved elsewhere by hand: verify finds it, run mends it
D5=$(commit_trailer "$(git -C "$V" log -1 --format=%H --grep='^Tally-Version: v3.8.3$')" Tally-Digest)
curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	-D "$T/mf.hdr" -o "$T/mf.json" "http://$REG/v2/$IMG/manifests/$D3"
mt=$(tr -d '\r' <"$T/mf.hdr" | sed -n 's/^Content-Type: //Ip')
expect_eq "put the v3.8.0 manifest under latest-anolis by hand" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $mt" --data-binary @"$T/mf.json" "http://$REG/v2/$IMG/manifests/latest-anolis")" 201
expect_exit "verify exits 4 when a floating tag points elsewhere" 4 tally verify server --json
check "  the problem names the floating tag" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .ok == false and any(.problems[]; test("latest-anolis")))'
expect_exit "run mends the floating tag" 0 tally run server
expect_eq "  latest-anolis is back on the record's digest" "$(digest_of latest-anolis)" "${D5:-<none>}"
expect_exit "  verify exits 0 again" 0 tally verify server

D5=$(commit_trailer "$(git -C "$V" log -1 --format=%H --grep='^Tally-Version: v3.8.3$')" Tally-Digest)
expect_eq "delete the record's manifest by digest" "$(delete_manifest "$IMG" "$D5")" 202
expect_eq "  v3.8.3-anolis is gone" "$(manifest_status v3.8.3-anolis)" 404
n=$(commits)
expect_exit "verify exits 4 after a tag is deleted from the registry" 4 tally verify server --json
check "  the problem names the tag" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .component == "server" and .ok == false and any(.problems[]; test("v3.8.3")))'
check "  summary exit 4" json_ok "$T/last.out" 4
expect_eq "  verify changes nothing" "$(commits) $(record_of server-versions.txt server)" "$n v3.8.3"
finish
