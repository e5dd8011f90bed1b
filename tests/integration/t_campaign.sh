#!/usr/bin/env bash
# Crash campaign (issue 10): three components, gitPush to a bare remote that
# sometimes rejects pushes, a second clone that pushes unrelated and hold
# commits, upstreams that move, and kills of batch commands and of `tally
# serve` at random moments and at every named crash point. After each kill
# the repo is sound (files parse, git fsck clean, no record without an
# image behind it); after ONE plain `tally run` with no operator step every
# record's tags read back as its Tally-Digest (`tally verify` exit 0), the
# floating tags point at the record, the working tree is clean and local
# and remote agree. Prints the kills, the crash points covered and the
# recoveries that needed an operator (must be 0).
#
#   CAMPAIGN_SEED=N   replay a campaign (the seed is printed)
#   CAMPAIGN_ROUNDS=N rounds (default 40: every crash point, then random kills;
#                     20 in the sanitizer pass, where each round is 2-3x slower,
#                     so that the suite stays well under its time budget)
. "$(dirname "$0")/lib.sh"
SEED=${CAMPAIGN_SEED:-20261201}
if [ -n "${ASAN_OPTIONS:-}" ]; then ROUNDS=${CAMPAIGN_ROUNDS:-20}; else ROUNDS=${CAMPAIGN_ROUNDS:-40}; fi
echo "# campaign seed $SEED, $ROUNDS rounds (CAMPAIGN_SEED=$SEED to replay)"
RANDOM=$SEED
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
git -C "$T/chat-upstream" tag v1.0.1
WEB_UP="$T/web-upstream"
git init -q "$WEB_UP"
git -C "$WEB_UP" commit -q --allow-empty -m i
git -C "$WEB_UP" tag v2.0.1
export GIT_PUSH=true
NS=campaign
not() { ! "$@"; }

fresh_versions_repo "$NS"
CTL="$T/ctl"
mkdir -p "$CTL"
# every build goes through one script: its pid (a process group leader) is
# kept so that a killed engine's build can be ended by the test; a nonce
# label gives every build its own digest; $CTL/sleep slows builds down
cat >"$V/dockerfiles/camp-build.sh" <<SH
#!/bin/sh
c=\$1 v=\$2 ref=\$3 ctl=$CTL
echo \$\$ >"\$ctl/pid-\$c-\$v-\$\$"
echo "campaign build of \$c \$v"
[ -e "\$ctl/sleep" ] && sleep "\$(cat "\$ctl/sleep")"
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="\$v" \\
	--label "nonce=\$(date +%s%N)" -t "\$ref" -f dockerfiles/Containerfile.server dockerfiles
SH
chmod +x "$V/dockerfiles/camp-build.sh"
printf 'web=v2.0.0\n' >>"$V/chat-versions.txt"
conf_set component.server.build "dockerfiles/camp-build.sh server {version} {ref}"
conf_set component.chat.build "dockerfiles/camp-build.sh chat {version} {ref}"
conf_set component.chat.floatingTag latest
conf_set component.web.file chat-versions.txt
conf_set component.web.upstream "git-tags $WEB_UP"
conf_set component.web.image "{prefix}/openim-web"
conf_set component.web.build "dockerfiles/camp-build.sh web {version} {ref}"
conf_set component.web.recipe dockerfiles/Containerfile.server
conf_set component.web.floatingTag latest
commit_versions "campaign components"
git -C "$V" push -q origin main
git -C "$REMOTE" config core.logAllRefUpdates always
# the remote rejects every push while $T/reject exists
cat >"$REMOTE/hooks/pre-receive" <<EOF
#!/bin/sh
if [ -e "$T/reject" ]; then echo "campaign: pushes closed" >&2; exit 1; fi
exit 0
EOF
chmod +x "$REMOTE/hooks/pre-receive"
O="$T/other"
git clone -q "$REMOTE" "$O"

# tally runs `git` by name: a wrapper runs $T/race.sh once, just before the
# first `git push` of that command (a workstation pushing in between)
REAL_GIT=$(command -v git)
mkdir -p "$T/bin"
cat >"$T/bin/git" <<EOF
#!/bin/sh
if [ "\$1" = push ] && [ -e "$T/race.sh" ]; then
	mv "$T/race.sh" "$T/race.sh.done"
	REAL_GIT="$REAL_GIT" sh "$T/race.sh.done" >>"$T/race.log" 2>&1 || echo "race script failed" >>"$T/race.log"
fi
exec "$REAL_GIT" "\$@"
EOF
chmod +x "$T/bin/git"
export PATH="$T/bin:$PATH"

COMPS="server chat web"
declare -A FILE=([server]=server-versions.txt [chat]=chat-versions.txt [web]=chat-versions.txt)
declare -A IMAGE=([server]=openim-server [chat]=openim-chat [web]=openim-web)
declare -A FLOAT=([server]=latest-anolis [chat]=latest [web]=latest)
declare -A UPR=([server]=$UP [chat]=$T/chat-upstream [web]=$WEB_UP)
declare -A NEXT=([server]="v3.8." [chat]="v1.0." [web]="v2.0.")
declare -A N=([server]=1 [chat]=1 [web]=1)
KILLS=0 OPERATOR=0 RECOVERIES=0 BATCH_KILLS=0 SERVE_KILLS=0 POINT_KILLS=0
declare -A COVERED=()
POINTS="after-build after-push after-verify mid-file-write before-ref-update after-ref-update
after-worktree-file before-push before-reapply-ref after-reapply-ref mid-rollback mid-repair
before-floating-repair"

rand() { echo $((RANDOM % $1)); }   # 0..N-1

valid_vfile() {
	awk '
		/^[ \t]*$/ || /^[ \t]*#/ { next }
		!/^[A-Za-z_][A-Za-z0-9_.-]*=./ { bad = 1; exit }
		{ k = $0; sub(/=.*/, "", k); if (seen[k]++) { bad = 1; exit } }
		END { exit bad }' "$1"
}

# end what a killed engine left running (its builds' process groups)
end_leftovers() {
	local f p
	for f in "$CTL"/pid-*; do
		[ -e "$f" ] || continue
		p=$(cat "$f")
		kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
		rm -f "$f"
	done
}

upstream_moves() { # COMP: tag the next version
	local c=$1
	N[$c]=$((N[$c] + 1))
	git -C "${UPR[$c]}" tag "${NEXT[$c]}${N[$c]}"
}

other_pull() { git -C "$O" pull -q --ff-only origin main 2>/dev/null || { git -C "$O" fetch -q origin && git -C "$O" reset -q --hard origin/main; }; }
other_notes() {
	other_pull
	echo "note $1" >>"$O/NOTES.txt"
	git -C "$O" add NOTES.txt
	git -C "$O" commit -q -m "workstation note $1"
	git -C "$O" push -q origin main 2>/dev/null || true
}
other_hold() { # a hold for a version far ahead (never blocks the campaign's work)
	other_pull
	local c=$1 v="${NEXT[$1]}9$2"
	printf 'skip %s %s by the workstation\n' "$c" "$v" >>"$O/tally-holds.txt"
	git -C "$O" add tally-holds.txt
	git -C "$O" commit -q -m "skip $c $v"
	git -C "$O" push -q origin main 2>/dev/null || true
}

# a record commit's digest has an image behind it
digest_exists() { # IMAGE DIGEST
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/$NS/$1/manifests/$2")" = 200 ]
}

after_kill() { # P: the repo is sound right after a kill
	local p=$1 c f d
	for f in server-versions.txt chat-versions.txt; do
		check "$p: HEAD's $f parses" valid_vfile <(git -C "$V" show "HEAD:$f")
		check "$p: working-tree $f parses" valid_vfile "$V/$f"
	done
	check "$p: git fsck clean" git -C "$V" fsck --no-progress --no-dangling
	for c in $COMPS; do
		d=$(git -C "$V" log -1 --format=%B --grep="^Tally-Component: $c\$" --grep='^Tally-Action: \(ship\|rebuild\|reset\)$' --all-match | sed -n 's/^Tally-Digest: //p')
		[ -z "$d" ] || check "$p: $c's last record commit has its image in the registry" digest_exists "${IMAGE[$c]}" "$d"
	done
}

healed() { # P: after one plain recovery run
	local p=$1 c v d bad=0
	tally verify >"$T/verify.out" 2>&1 || { bad=1; sed 's/^/    | /' "$T/verify.out" >&2; }
	for c in $COMPS; do
		v=$(git -C "$V" show "HEAD:${FILE[$c]}" | sed -n "s/^$c=//p")
		d=$(git -C "$V" log -1 --format=%B --grep="^Tally-Component: $c\$" --grep="^Tally-Version: $v\$" --all-match | sed -n 's/^Tally-Digest: //p')
		[ -n "$d" ] || { echo "    | $c: no record commit with a digest for $v" >&2; bad=1; continue; }
		for tag in "$v" "${FLOAT[$c]}"; do
			[ "$c" = server ] && [ "$tag" = "$v" ] && tag="$v-anolis"
			[ "$(manifest_digest "$NS/${IMAGE[$c]}" "$tag")" = "$d" ] ||
				{ echo "    | $c: $tag does not read back $d" >&2; bad=1; }
		done
	done
	for f in server-versions.txt chat-versions.txt tally-holds.txt; do
		[ -e "$V/$f" ] || continue
		[ "$f" = tally-holds.txt ] || valid_vfile "$V/$f" || { echo "    | $f does not parse" >&2; bad=1; }
	done
	git -C "$V" fsck --no-progress --no-dangling >/dev/null 2>&1 || { echo "    | git fsck" >&2; bad=1; }
	[ -z "$(git -C "$V" status --porcelain)" ] || { git -C "$V" status --porcelain | sed 's/^/    | dirty: /' >&2; bad=1; }
	[ "$(git -C "$V" rev-parse HEAD)" = "$(git -C "$REMOTE" rev-parse main)" ] ||
		{ echo "    | local and remote differ" >&2; bad=1; }
	if [ $bad = 0 ]; then ok "$p: healed by one plain run (verify 0, tags follow records, clean, local = remote)"
	else not_ok "$p: healed by one plain run"; OPERATOR=$((OPERATOR + 1)); fi
}

# --- the first records: everything tally's ---------------------------------
expect_exit "start: the first run ships every component" 0 tally run
healed start

# the order of the named crash points, then random kills
order=()
for p in $POINTS; do order+=("point:$p"); done
while [ ${#order[@]} -lt "$ROUNDS" ]; do
	if [ "$(rand 3)" = 0 ]; then order+=("serve"); else order+=("batch"); fi
done
# shuffle (Fisher-Yates with the seeded RANDOM)
for ((i = ${#order[@]} - 1; i > 0; i--)); do
	j=$(rand $((i + 1)))
	tmp=${order[$i]}; order[$i]=${order[$j]}; order[$j]=$tmp
done

round=0
for what in "${order[@]}"; do
	round=$((round + 1))
	p="round $round ($what)"
	rm -f "$T/reject" "$T/race.sh" "$CTL/sleep"
	# the world moves: upstreams, the workstation, a pin from an earlier reset
	if grep -q '^pin server' "$V/tally-holds.txt" 2>/dev/null; then tally unpin server >/dev/null 2>&1 || true; fi
	for c in $COMPS; do [ "$(rand 2)" = 0 ] && upstream_moves "$c"; done
	[ "$(rand 3)" = 0 ] && other_notes "$round"
	[ "$(rand 4)" = 0 ] && other_hold "$(echo $COMPS | cut -d' ' -f$(($(rand 3) + 1)))" "$round"
	cmd=(run)
	point=
	case $what in
	point:*)
		point=${what#point:}
		case $point in
		after-push | after-verify)
			# half of them a force rebuild (the tags move off the record)
			if [ "$(rand 2)" = 0 ]; then cmd=(rebuild server); else upstream_moves server; fi ;;
		after-build | mid-file-write | before-ref-update | after-worktree-file)
			upstream_moves server ;;
		after-ref-update)
			# a plain record, or a reset (whose floating tags lag)
			if [ "$(rand 2)" = 0 ] && [ "${N[server]}" -gt 2 ]; then
				prev=$(git -C "$V" log --format=%B --grep='^Tally-Component: server$' | sed -n 's/^Tally-Version: //p' | sort -u -V | head -1)
				cur=$(git -C "$V" show HEAD:server-versions.txt | sed -n 's/^server=//p')
				if [ -n "$prev" ] && [ "$prev" != "$cur" ]; then cmd=(reset server "$prev"); else upstream_moves server; fi
			else upstream_moves server; fi ;;
		before-push)
			upstream_moves chat ;;
		before-reapply-ref | after-reapply-ref)
			# a pending hold commit, then the remote moves
			touch "$T/reject"
			tally skip web "${NEXT[web]}8$round" >/dev/null 2>&1 || true
			rm -f "$T/reject"
			other_notes "r$round" ;;
		mid-rollback)
			# the workstation skips the very version tally is about to record
			upstream_moves chat
			cmd=(run chat)
			cand="${NEXT[chat]}${N[chat]}"
			cat >"$T/race.sh" <<EOF
set -e
cd "$O"
\$REAL_GIT pull -q --ff-only origin main || { \$REAL_GIT fetch -q origin; \$REAL_GIT reset -q --hard origin/main; }
printf 'skip chat $cand skipped by the workstation while building\n' >>tally-holds.txt
\$REAL_GIT add tally-holds.txt
\$REAL_GIT commit -q -m "skip chat $cand"
\$REAL_GIT push -q origin main
EOF
			;;
		mid-repair)
			# a first kill leaves a working tree to repair; the next start dies in it
			upstream_moves server
			env TALLY_CRASH_AT=after-worktree-file "$TALLY_BIN" -C "$V" --no-tui run >/dev/null 2>&1 || true
			KILLS=$((KILLS + 1)); POINT_KILLS=$((POINT_KILLS + 1)); COVERED[after-worktree-file]=1
			end_leftovers
			after_kill "$p: first kill" ;;
		before-floating-repair)
			# a kill after the ref update leaves floating tags behind; the
			# mending run is killed just before its PUT
			upstream_moves chat
			env TALLY_CRASH_AT=after-ref-update "$TALLY_BIN" -C "$V" --no-tui run chat >/dev/null 2>&1 || true
			KILLS=$((KILLS + 1)); POINT_KILLS=$((POINT_KILLS + 1)); COVERED[after-ref-update]=1
			end_leftovers
			after_kill "$p: first kill" ;;
		esac
		[ "$(rand 3)" = 0 ] && [ "$point" != before-push ] && [ "$point" != mid-rollback ] && touch "$T/reject"
		rc=0
		env TALLY_CRASH_AT="$point" "$TALLY_BIN" -C "$V" --no-tui "${cmd[@]}" >"$T/kill.out" 2>&1 || rc=$?
		if [ "$rc" = 137 ]; then
			KILLS=$((KILLS + 1)); POINT_KILLS=$((POINT_KILLS + 1)); COVERED[$point]=1
			ok "$p: killed at $point (${cmd[*]})"
		else
			not_ok "$p: ${cmd[*]} did not reach crash point $point (exit $rc)"
			sed 's/^/    | /' "$T/kill.out" >&2
		fi
		;;
	batch | serve)
		# work to be killed in: at least one new version, slower builds
		upstream_moves "$(echo $COMPS | cut -d' ' -f$(($(rand 3) + 1)))"
		echo "0.$(rand 10)" >"$CTL/sleep"
		[ "$(rand 3)" = 0 ] && touch "$T/reject"
		[ "$(rand 4)" = 0 ] && cmd=(rebuild server)
		delay="$(rand 3).$(rand 10)"
		if [ "$what" = batch ]; then
			"$TALLY_BIN" -C "$V" --no-tui "${cmd[@]}" >"$T/kill.out" 2>&1 &
			victim=$!
		else
			serve_bg "serve-$round" || not_ok "$p: serve started"
			victim=$SERVE_PID
			"$TALLY_BIN" -C "$V" --no-tui "${cmd[@]}" >"$T/kill.out" 2>&1 &
			client=$!
		fi
		sleep "$delay"
		kill -9 "$victim" 2>/dev/null && { KILLS=$((KILLS + 1)); [ "$what" = batch ] && BATCH_KILLS=$((BATCH_KILLS + 1)) || SERVE_KILLS=$((SERVE_KILLS + 1)); }
		wait "$victim" 2>/dev/null || true
		[ "$what" = serve ] && { wait "$client" 2>/dev/null || true; }
		ok "$p: ${cmd[*]} killed after ${delay}s"
		;;
	esac
	end_leftovers
	after_kill "$p"
	# one plain recovery run, the remote open again, no operator step
	rm -f "$T/reject" "$T/race.sh" "$CTL/sleep"
	RECOVERIES=$((RECOVERIES + 1))
	expect_exit "$p: the recovery run exits 0" 0 tally run
	end_leftovers
	healed "$p"
done

covered=${#COVERED[@]}
total=$(echo $POINTS | wc -w)
echo "# campaign seed $SEED: $KILLS kills ($POINT_KILLS at crash points, $BATCH_KILLS of batch runs at random moments, $SERVE_KILLS of tally serve), crash points covered $covered/$total, $RECOVERIES recoveries, $OPERATOR needed an operator"
expect_eq "every named crash point was hit" "$covered" "$total"
expect_eq "no recovery needed an operator" "$OPERATOR" 0
finish
