#!/usr/bin/env bash
# t_demo.sh - scripts/demo --batch plays its day end to end (issue 15): the
# demo's own base image (buildah FROM scratch, pushed to the demo's
# registry) is updated by the demo's base updater loop (interval from
# TALLY_DEMO_BASE_EVERY, 1 s here instead of minutes); the next check shows
# base-moved and the run rebuilds every unpinned component with Tally-Cause
# "base IMAGE moved OLD → NEW" and Tally-Base the new digest; history -v
# prints both; the updater is stopped when the demo ends.
. "$(dirname "$0")/lib.sh"

expect_exit "a bad interval is refused" 2 env TALLY_BIN="$TALLY_BIN" TMPDIR="$T" \
	TALLY_DEMO_BASE_EVERY=soon bash "$TALLY_SRC/scripts/demo" --batch
check "the refusal names the variable" grep -q "TALLY_DEMO_BASE_EVERY must be a number" "$T/last.err"
check "nothing was made for it" test -z "$(ls -d "$T"/tally-demo.* 2>/dev/null)"

rc=0
env TALLY_BIN="$TALLY_BIN" TMPDIR="$T" TALLY_DEMO_BASE_EVERY=1 \
	bash "$TALLY_SRC/scripts/demo" --batch </dev/null >"$T/demo.out" 2>&1 || rc=$?
expect_eq "the demo's day ends with 0" "$rc" 0
[ "$rc" = 0 ] || tail -40 "$T/demo.out" >&2
DD=$(sed -n 's/.*demo directory: \([^ ]*\) .*/\1/p' "$T/demo.out" | head -1)
check "the demo directory is under TMPDIR" test -d "$DD/versions/.git" -a "${DD#"$T"/}" != "$DD"
R=$DD/versions
BASE=$(grep -o '127\.0\.0\.1:[0-9]*/demo/base:latest' "$T/demo.out" | head -1)
check "the demo names its base image" test -n "$BASE"

trailer() { git -C "$R" log -1 --format=%B "$1" | sed -n "s/^$2: //p"; }
# the first record of chat (an upstream release) and its rebuild on the new base
first=$(git -C "$R" log --format=%H --grep='^record chat v1.8.1' | tail -1)
rebuild=$(git -C "$R" log --format=%H --grep='^rebuild chat v1.8.1' | head -1)
check "chat was recorded" test -n "$first"
check "chat was rebuilt" test -n "$rebuild"
OLD=$(trailer "$first" Tally-Base | sed -n "s|^$BASE@||p")
NEW=$(cat "$DD/base/digest" 2>/dev/null || true)
check "the first record was built on the base's first release" grep -q '^sha256:[0-9a-f]\{64\}$' <<<"$OLD"
check "the updater pushed a new release" test "$(cat "$DD/base/generation" 2>/dev/null)" -ge 2
check "with another digest" test -n "$NEW" -a "$NEW" != "$OLD"
expect_eq "the first record's cause" "$(trailer "$first" Tally-Cause)" "upstream v1.8.1 released"
expect_eq "the rebuild's action" "$(trailer "$rebuild" Tally-Action)" rebuild
expect_eq "the rebuild's Tally-Cause: base moved, old and new" "$(trailer "$rebuild" Tally-Cause)" \
	"base $BASE moved $OLD → $NEW"
expect_eq "the rebuild's Tally-Base: the new digest" "$(trailer "$rebuild" Tally-Base)" "$BASE@$NEW"
expect_eq "every unpinned component rebuilt (chat, mongodb, redis), the pinned server not" \
	"$(git -C "$R" log --format=%s --grep='^rebuild ' | sort | tr '\n' ,)" \
	"rebuild chat v1.8.1,rebuild mongodb 7.0.4,rebuild redis 7.2.3,"
check "the rebuilds reached the remote" git -C "$DD/remote.git" merge-base --is-ancestor "$rebuild" main
check "the check showed base-moved" grep -q '^chat .* base-moved ' "$T/demo.out"
check "history -v printed the cause" grep -qF "    cause base $BASE moved $OLD → $NEW" "$T/demo.out"
check "history -v printed the base" grep -qxF "    base $BASE@$NEW" "$T/demo.out"
check "the narration says what happens" grep -q "the base updater pushes a new release" "$T/demo.out"

# the updater belongs to the demo: started, stopped, gone
pid=$(sed -n 's/.* updater \([0-9]*\) started.*/\1/p' "$DD/base/log" | head -1)
check "the updater ran" test -n "$pid"
check "the updater was stopped by the demo" grep -q "updater $pid stopped" "$DD/base/log"
check "the updater is gone" bash -c "! kill -0 $pid 2>/dev/null"
check "no pid file left" test ! -e "$DD/base/updater.pid"
expect_exit "scripts/demo --clean removes it" 0 bash "$TALLY_SRC/scripts/demo" --clean "$DD"
check "removed" test ! -e "$DD"
finish
