#!/usr/bin/env bash
# Crash tests: tally is killed (SIGKILL) at every named crash point of an
# attempt, and by `kill -9` from outside during a slow build. Afterwards the
# invariant holds (valid files, a record only with the evidence behind it),
# and the next run completes with exactly one record commit.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0

IMG=openim-server
FILES="server-versions.txt .env"
not() { ! "$@"; }

# valid_vfile FILE: one key=value per line (blank and # lines allowed), no
# empty value, no duplicate key
valid_vfile() {
	awk '
		/^[ \t]*$/ || /^[ \t]*#/ { next }
		!/^[A-Za-z_][A-Za-z0-9_.-]*=./ { bad = 1; exit }
		{ k = $0; sub(/=.*/, "", k); if (seen[k]++) { bad = 1; exit } }
		END { exit bad }' "$1"
}

# worktree_is_head_or_parent FILE: the working-tree file equals HEAD's or
# HEAD's parent's committed content
worktree_is_head_or_parent() {
	local f=$1 rev
	for rev in HEAD HEAD^; do
		git -C "$V" rev-parse -q --verify "$rev^{commit}" >/dev/null || continue
		if git -C "$V" cat-file -e "$rev:$f" 2>/dev/null &&
			cmp -s <(git -C "$V" show "$rev:$f") "$V/$f"; then
			return 0
		fi
	done
	echo "    | $f in the working tree:" >&2
	sed 's/^/    |   /' "$V/$f" >&2 2>/dev/null || echo "    |   (missing)" >&2
	return 1
}

no_temp_files() {
	test -z "$(find "$V" -path "$V/.git" -prune -o -name '*.tally-tmp.*' -print)"
}

record_commits() { # how many commits record server v3.8.1
	git -C "$V" log --format=%s | grep -cx 'record server v3.8.1' || true
}

# the invariant right after a crash; $base is HEAD before the crashed run
check_invariant() {
	local p=$1
	check "$p: HEAD's server-versions.txt parses" valid_vfile <(git -C "$V" show HEAD:server-versions.txt)
	check "$p: HEAD's .env parses" valid_vfile <(git -C "$V" show HEAD:.env)
	for f in $FILES; do
		check "$p: working-tree $f is HEAD's or HEAD's parent's (no partial file)" worktree_is_head_or_parent "$f"
	done
	local rec
	rec=$(record_of server-versions.txt server)
	if [ "$rec" = v3.8.1 ]; then
		local digest
		digest=$(commit_trailer HEAD Tally-Digest)
		check "$p: record commit carries a digest" grep -Eq '^sha256:[0-9a-f]{64}$' <<<"$digest"
		expect_eq "$p: record commit is the only new commit" "$(git -C "$V" rev-parse HEAD^)" "$base"
		for tag in v3.8.1-anolis v3.8.1; do
			expect_eq "$p: registry tag $tag reads back with the recorded digest" \
				"$(manifest_digest "$NS/$IMG" "$tag")" "${digest:-<no digest>}"
		done
	else
		expect_eq "$p: record did not move and no commit was added" "$(git -C "$V" rev-parse HEAD)" "$base"
		expect_eq "$p: record still v3.8.0" "$rec" v3.8.0
	fi
}

# check_completed P: the run after the crash finished the job
check_completed() {
	local p=$1
	expect_eq "$p: record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
	expect_eq "$p: working tree clean" "$(git -C "$V" status --porcelain)" ""
	check "$p: no temp file left" no_temp_files
	expect_eq "$p: exactly one record commit for v3.8.1" "$(record_commits)" 1
	expect_eq "$p: .env follows the record" "$(grep OPENIM_SERVER_VERSION "$V/.env")" \
		"OPENIM_SERVER_VERSION=v3.8.1-anolis"
	local digest
	digest=$(commit_trailer HEAD Tally-Digest)
	for tag in v3.8.1-anolis v3.8.1; do
		expect_eq "$p: after the rerun, $tag reads back with the recorded digest" \
			"$(manifest_digest "$NS/$IMG" "$tag")" "${digest:-<no digest>}"
	done
	# floating tags follow every record (SPEC 4, shipping order); a crash
	# between the ref update and the floating step must not lose them
	# after a crash between the ref update and the floating step the rerun
	# has no candidate; it must still mend the floating tag
	expect_eq "$p: floating tag latest-anolis points at the recorded digest" \
		"$(manifest_digest "$NS/$IMG" latest-anolis)" "${digest:-<no digest>}"
}

for p in after-build after-push after-verify mid-file-write before-ref-update \
	after-ref-update after-worktree-file before-push; do
	NS="c-$p"
	# before-push is reached only when record commits are pushed
	if [ "$p" = before-push ]; then GIT_PUSH=true; else GIT_PUSH=false; fi
	fresh_versions_repo "$NS"
	base=$(git -C "$V" rev-parse HEAD)

	expect_exit "$p: tally dies by SIGKILL at the crash point" 137 \
		env TALLY_CRASH_AT="$p" "$TALLY_BIN" -C "$V" --no-tui run
	check_invariant "$p"
	case $p in
	mid-file-write)
		# the crash point must hit the write of a working-tree file (the
		# version file is written first), not some other file tally writes
		check "$p: killed in the middle of writing server-versions.txt (temp file of it exists)" \
			test -n "$(find "$V" -maxdepth 1 -name 'server-versions.txt.tally-tmp.*')"
		;;
	after-worktree-file)
		expect_eq "$p: ref moved before the working tree" "$(record_of server-versions.txt server)" v3.8.1
		;;
	esac
	expect_exit "$p: next run exits 0" 0 tally run
	cp "$T/last.out" "$T/rerun.out"; cp "$T/last.err" "$T/rerun.err"
	check_completed "$p"
	case $p in
	after-verify | before-ref-update)
		# the image shipped; the next run resumes at record without building
		expect_exit "$p: logs of the rerun" 0 tally logs server
		# the evidence is in the ledger before the record, so a crash after
		# verify resumes at record instead of building again
		check "$p: rerun resumed (log says resume:)" grep -q "resume:" "$T/last.out"
		check "$p: rerun did not build again" not grep -q "build: buildah" "$T/last.out"
		;;
	before-push)
		expect_eq "$p: the pending record commit was pushed by the rerun" \
			"$(git -C "$REMOTE" rev-parse main)" "$(git -C "$V" rev-parse HEAD)"
		;;
	esac
done
GIT_PUSH=false

# kill -9 from outside during a slow build
NS=c-kill9
fresh_versions_repo "$NS"
cat >"$T/slowbuild.sh" <<EOF
#!/bin/sh
echo \$\$ >"$T/slowbuild.pid"
sleep 3
exec buildah --storage-driver vfs build --isolation chroot -q -t "\$1" -f dockerfiles/Containerfile.server dockerfiles
EOF
chmod +x "$T/slowbuild.sh"
sed -i "/^\[component \"server\"\]/,/^\[/ s#^\tbuild = .*#\tbuild = $T/slowbuild.sh {ref}#" "$V/tally.conf"
git -C "$V" commit -q -am "slow build"
base=$(git -C "$V" rev-parse HEAD)
rm -f "$T/slowbuild.pid"
"$TALLY_BIN" -C "$V" --no-tui run >"$T/kill9.out" 2>&1 &
tpid=$!
started=
for _ in $(seq 100); do
	logdir=$(tally_log_dir)
	if [ -n "$logdir" ] && grep -qs "build: $T/slowbuild.sh" "$logdir"/server/*.log && [ -s "$T/slowbuild.pid" ]; then
		started=1
		break
	fi
	sleep 0.1
done
check "kill9: the log shows the build started" test -n "$started"
kill -9 "$tpid"
rc=0
wait "$tpid" || rc=$?
expect_eq "kill9: tally died by SIGKILL" "$rc" 137
if [ -s "$T/slowbuild.pid" ]; then
	bpid=$(cat "$T/slowbuild.pid")
	if kill -0 "$bpid" 2>/dev/null; then
		echo "# note: the build (pid $bpid) outlived tally's kill -9; ending its process group" >&2
		kill -9 -- "-$bpid" 2>/dev/null || kill -9 "$bpid" 2>/dev/null || true
	fi
fi
expect_eq "kill9: HEAD unchanged (git log unchanged)" "$(git -C "$V" rev-parse HEAD)" "$base"
expect_eq "kill9: record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "kill9: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_eq "kill9: nothing tagged v3.8.1 in the registry" "$(manifest_digest "$NS/$IMG" v3.8.1-anolis)" ""
expect_exit "kill9: next run exits 0" 0 tally run
check_completed kill9
finish
