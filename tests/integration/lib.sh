# lib.sh - shared setup for integration tests: a real docker-registry on a
# free loopback port, real git repositories (upstream, versions repo, bare
# remote), real buildah builds. Everything lives under $T and is removed by
# the EXIT trap, servers included.
set -euo pipefail

: "${TALLY_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TALLY_BIN:=$TALLY_SRC/build/tally}"
export TALLY_SRC TALLY_BIN

T=$(mktemp -d /tmp/tally-it.XXXXXX)
export HOME="$T/home" XDG_STATE_HOME="$T/state" XDG_RUNTIME_DIR="$T/run"
mkdir -p "$HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.invalid
export GIT_CONFIG_GLOBAL="$T/home/.gitconfig"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
# builds do not inherit GIT_AUTHOR_* (tally scrubs their environment): a build
# script that commits finds the identity in the global config
git config --global user.name test
git config --global user.email test@example.invalid
# buildah as tests use it: vfs storage inside $T, chroot isolation
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
export CONTAINERS_STORAGE_CONF="$T/storage.conf"
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "vfs"
runroot = "$T/containers/run"
graphroot = "$T/containers/storage"
CONF

PIDS=()
FAILS=0
PASSES=0
cleanup() {
	local rc=$?
	# an engine a test (or a console) started in the background ends with it
	if [ -n "${V:-}" ] && [ -d "${V:-}/.git" ]; then
		timeout 20 "$TALLY_BIN" -C "$V" --no-tui -q stop --now >/dev/null 2>&1 || true
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-}" = 1 ]; then echo "kept $T" >&2; else
		# buildah's vfs layers can be read-only directories
		chmod -R u+w "$T" 2>/dev/null || true
		rm -rf "$T"
	fi
	exit $rc
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_registry: a docker-registry on 127.0.0.1:$REG_PORT, storage in $T
start_registry() {
	REG_PORT=${REG_PORT:-$(free_port)}
	REG="127.0.0.1:$REG_PORT"
	mkdir -p "$T/registry"
	cat >"$T/registry/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
CONF
	docker-registry serve "$T/registry/config.yml" >"$T/registry/log" 2>&1 &
	REG_PID=$!
	PIDS+=("$REG_PID")
	for _ in $(seq 100); do
		curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "registry did not start" >&2
	cat "$T/registry/log" >&2
	return 1
}

stop_registry() {
	kill "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
}

# make_upstream TAG...: a git repository standing in for the upstream
make_upstream() {
	UP="$T/upstream"
	git init -q "$UP"
	git -C "$UP" commit -q --allow-empty -m init
	for t in "$@"; do git -C "$UP" tag "$t"; done
}

# make_versions_repo: the versions repo in the seed's format with a bare
# remote; components server (git-tags upstream) and chat (git-tags too).
# BUILD_EXTRA may add lines to the server Containerfile. The Containerfiles
# carry no org.opencontainers.image.version label: many tests build them
# without --build-arg, and versionLabel would (rightly) refuse "unset";
# t_version_label.sh tests the label.
make_versions_repo() {
	V="$T/versions"
	REMOTE="$T/remote.git"
	git init -q "$V"
	mkdir -p "$V/dockerfiles"
	echo "hello from tally tests" >"$V/dockerfiles/payload.txt"
	cat >"$V/dockerfiles/Containerfile.server" <<'CF'
FROM scratch
ARG OPENIM_VERSION=unset
COPY payload.txt /payload.txt
CF
	cp "$V/dockerfiles/Containerfile.server" "$V/dockerfiles/Containerfile.chat"
	printf '# versions shipped by tally\nserver=%s\n' "${SERVER_START:-v3.8.0}" >"$V/server-versions.txt"
	printf 'chat=%s\n' "${CHAT_START:-v1.0.0}" >"$V/chat-versions.txt"
	cat >"$V/tally.conf" <<CONF
[tally]
	gitPush = ${GIT_PUSH:-false}
	parallelBuilds = ${PARALLEL:-1}
[registry]
	prefix = $REG/test
	insecure = true
[component "server"]
	file = server-versions.txt
	upstream = git-tags $UP
	include = ^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+\$
	image = {prefix}/openim-server
	tag = {version}-anolis
	tag = {version}
	floatingTag = latest-anolis
	build = buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION={version} -t {ref} -f dockerfiles/Containerfile.server dockerfiles
	recipe = dockerfiles/Containerfile.server
	recordAlso = .env:OPENIM_SERVER_VERSION={version}-anolis
	timeout = ${BUILD_TIMEOUT:-600}
[component "chat"]
	file = chat-versions.txt
	upstream = git-tags ${CHAT_UP:-$T/chat-upstream}
	image = {prefix}/openim-chat
	build = buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile.chat dockerfiles
	recipe = dockerfiles/Containerfile.chat
CONF
	printf 'COMPOSE_PROJECT_NAME=openim\nOPENIM_SERVER_VERSION=v3.8.0-anolis\n' >"$V/.env"
	git -C "$V" add -A
	git -C "$V" commit -q -m "seed"
	git init -q --bare "$REMOTE"
	git -C "$V" remote add origin "$REMOTE"
	git -C "$V" push -q origin main
}

tally() { "$TALLY_BIN" -C "$V" --no-tui "$@"; }

record_of() { # FILE KEY: the committed value at HEAD
	git -C "$V" show "HEAD:$1" | sed -n "s/^$2=//p"
}

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # DESCRIPTION CMD...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
expect_eq() { # DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}
expect_exit() { # DESCRIPTION WANT CMD...
	local d=$1 want=$2; shift 2
	local got=0
	"$@" >"$T/last.out" 2>"$T/last.err" || got=$?
	if [ "$got" = "$want" ]; then ok "$d"; else
		not_ok "$d: exit $got, want $want"
		sed 's/^/    | /' "$T/last.out" "$T/last.err" >&2
	fi
}
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
}

# --- helpers for the failure-scenario tests (t_build_fail, t_registry_down,
# t_upstream_gone, t_independent, t_hostile, t_batch_cli) ---

# make_chat_upstream TAG...: the chat component's upstream at $T/chat-upstream
make_chat_upstream() {
	git init -q "$T/chat-upstream"
	git -C "$T/chat-upstream" commit -q --allow-empty -m init
	for t in "$@"; do git -C "$T/chat-upstream" tag "$t"; done
}

# conf_set KEY VALUE: set a key in the versions repo's tally.conf (not committed)
conf_set() { git config -f "$V/tally.conf" "$1" "$2"; }

# commit_versions MSG: commit every change in the versions repo
commit_versions() { git -C "$V" add -A && git -C "$V" commit -q -m "$1"; }

# state_dir: the one state directory tally made under $XDG_STATE_HOME
state_dir() {
	local d
	d=$(find "$XDG_STATE_HOME/tally" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1)
	echo "${d:-$XDG_STATE_HOME/tally/<none>}"
}

# count_logs COMP: attempt log files kept for a component
count_logs() { find "$(state_dir)/logs/$1" -name '*.log' 2>/dev/null | wc -l | tr -d ' '; }

# ledger_lines [COMP]: attempts in the ledger (all, or one component's),
# counted by attempt id (an attempt may write more than one line)
ledger_lines() {
	local f
	f="$(state_dir)/ledger.jsonl"
	[ -f "$f" ] || { echo 0; return; }
	jq -r --arg c "${1:-}" 'select($c == "" or .component == $c) | .id' "$f" | sort -u | wc -l | tr -d ' '
}

# ledger_entry ID: the last ledger line of an attempt
ledger_entry() {
	jq -c -s --arg id "$1" 'map(select(.id == $id)) | last' "$(state_dir)/ledger.jsonl" 2>/dev/null
}

# commits: number of commits at HEAD of the versions repo
commits() { git -C "$V" rev-list --count HEAD; }

# json_ok FILE WANT_EXIT: every line is a JSON object with "schema":1, the
# last is a summary whose exit is WANT_EXIT
json_ok() {
	[ -s "$1" ] || return 1
	jq -e -s --argjson want "$2" \
		'all(.[]; type == "object" and .schema == 1 and (.event | type == "string"))
		 and (.[-1].event == "summary") and (.[-1].exit == $want)
		 and ([.[] | select(.event == "summary")] | length == 1)' "$1" >/dev/null 2>&1
}

# manifest_status TAG [REPO]: HTTP status of a manifest in the test registry
manifest_status() {
	curl -s -o /dev/null -w '%{http_code}' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/test/${2:-openim-server}/manifests/$1"
}

# --- helpers for t_crash.sh / t_remote.sh ---------------------------------

# manifest_digest REPO TAG: the digest the registry answers for REPO:TAG
# (HEAD request with the manifest Accept headers), or nothing
manifest_digest() {
	curl -sSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		"http://$REG/v2/$1/manifests/$2" 2>/dev/null | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip'
}

# fresh_versions_repo [NAMESPACE]: throw away the versions repo, its remote
# and tally's state, and make them again (make_versions_repo's variables
# apply); NAMESPACE replaces the registry namespace "test" so that images of
# earlier scenarios do not answer for this one
fresh_versions_repo() {
	rm -rf "$T/versions" "$T/remote.git" "$XDG_STATE_HOME/tally"
	make_versions_repo
	if [ -n "${1:-}" ]; then
		sed -i "s#^\(\tprefix = \).*#\1$REG/$1#" "$V/tally.conf"
		git -C "$V" commit -q -am "namespace $1"
		git -C "$V" push -q origin main
	fi
}

# commit_trailer REV NAME: a trailer's value in a commit of the versions repo
commit_trailer() {
	git -C "$V" log -1 --format=%B "$1" | sed -n "s/^$2: //p"
}

# tally_log_dir: where tally keeps the attempt logs of the versions repo
tally_log_dir() {
	{ find "$XDG_STATE_HOME/tally" -maxdepth 2 -type d -name logs 2>/dev/null || true; } | head -1
}

# jq_ok FILE [JQ-OPTIONS] FILTER: FILTER (over all JSON lines of FILE as one
# array) is true
jq_ok() { local f=$1; shift; jq -e -s "$@" "$f" >/dev/null 2>&1; }

# --- helpers for t_procedures.sh / t_serve.sh -------------------------------

# use_ctl_build: the server component builds through dockerfiles/build.sh,
# steered per version by files in $CTL: fail-V (prints a missing-tool error
# and exits 127), sleep-V (sleeps that many seconds first, the sleep's pid in
# $CTL/sleeppid-V; the script's pid is always written to $CTL/pid-V), skip-during-V (appends "skip server V" to the holds
# file and commits it with plain git before building). Every build carries a
# nonce label, so a rebuild gives a new digest. Committed.
use_ctl_build() {
	CTL="$T/ctl"
	mkdir -p "$CTL"
	cat >"$V/dockerfiles/build.sh" <<SH
#!/bin/sh
v=\$1 ref=\$2 ctl=$CTL
echo "ctl build of \$v starting"
echo \$\$ >"\$ctl/pid-\$v"
if [ -e "\$ctl/fail-\$v" ]; then
	echo "STEP 2/3: RUN wget -q https://example.invalid/openim-\$v.tar.gz"
	echo "/bin/sh: 1: wget: command not found"
	echo "error building at STEP \"RUN wget\": exit status 127"
	exit 127
fi
if [ -e "\$ctl/sleep-\$v" ]; then
	sleep "\$(cat "\$ctl/sleep-\$v")" &
	echo \$! >"\$ctl/sleeppid-\$v"
	wait \$!
fi
if [ -e "\$ctl/skip-during-\$v" ]; then
	printf 'skip server %s skipped by hand while building\n' "\$v" >>tally-holds.txt
	git add tally-holds.txt && git commit -q -m "skip server \$v by hand" tally-holds.txt || exit 99
fi
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="\$v" \
	--label "nonce=\$(date +%s%N)" -t "\$ref" -f dockerfiles/Containerfile.server dockerfiles
SH
	chmod +x "$V/dockerfiles/build.sh"
	conf_set component.server.build "dockerfiles/build.sh {version} {ref}"
	commit_versions "server builds through build.sh"
}

# files_of REV: the files a commit of the versions repo touches, sorted, space separated
files_of() { git -C "$V" show --name-only --format= "$1" | sed '/^$/d' | sort | tr '\n' ' '; }

# delete_manifest REPO DIGEST: DELETE by digest through the registry API
# (removes every tag on that digest); prints the HTTP status
delete_manifest() {
	curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/$1/manifests/$2"
}

# last_attempt_id [COMP]: id of the newest attempt in the ledger
last_attempt_id() {
	jq -r --arg c "${1:-}" 'select($c == "" or .component == $c) | .id' "$(state_dir)/ledger.jsonl" 2>/dev/null | tail -1
}

# --- helpers for t_socket.sh / bench_watchers.sh ----------------------------

SOCKCLIENT="$TALLY_SRC/tests/fixtures/sockclient.py"

# use_chatty_build: the server component builds through dockerfiles/chatty.sh,
# steered per version by files in $CTL: lines-V (prints that many lines, 0.1 s
# apart), bytes-V (prints that many bytes of log at full speed), sleep-V
# (sleeps that many seconds, the sleep's pid in $CTL/sleeppid-V); the
# script's pid is always in $CTL/pid-V. Then the real buildah build, with a
# nonce label so each build has its own digest. Committed.
use_chatty_build() {
	CTL="$T/ctl"
	mkdir -p "$CTL"
	cat >"$V/dockerfiles/chatty.sh" <<SH
#!/bin/sh
v=\$1 ref=\$2 ctl=$CTL
echo \$\$ >"\$ctl/pid-\$v"
echo "chatty build of \$v starting"
if [ -e "\$ctl/lines-\$v" ]; then
	i=1
	while [ \$i -le "\$(cat "\$ctl/lines-\$v")" ]; do
		echo "chatty line \$i of \$v"
		sleep 0.1
		i=\$((i + 1))
	done
fi
if [ -e "\$ctl/bytes-\$v" ]; then
	yes "chatty bulk output of \$v: the quick brown fox jumps over the lazy dog" | head -c "\$(cat "\$ctl/bytes-\$v")"
	echo
fi
if [ -e "\$ctl/sleep-\$v" ]; then
	sleep "\$(cat "\$ctl/sleep-\$v")" &
	echo \$! >"\$ctl/sleeppid-\$v"
	wait \$!
fi
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="\$v" \\
	--label "nonce=\$(date +%s%N)" -t "\$ref" -f dockerfiles/Containerfile.server dockerfiles
SH
	chmod +x "$V/dockerfiles/chatty.sh"
	conf_set component.server.build "dockerfiles/chatty.sh {version} {ref}"
	commit_versions "server builds through chatty.sh"
}

# sock_path: the engine socket named in the repo's lock file
sock_path() { sed -n 's/^socket //p' "$V/.git/tally.lock" 2>/dev/null; }

# serve_bg NAME: `tally serve` in the background (stderr to $T/NAME.log);
# waits until it listens; its pid in $SERVE_PID
serve_bg() {
	# as under systemd: $JOURNAL_STREAM names stderr, so lines get <N> prefixes
	: >"$T/$1.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/$1.log") "$TALLY_BIN" -C "$V" serve >"$T/$1.out" 2>"$T/$1.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	local _i
	for _i in $(seq 100); do
		if grep -q '^<6>serve pid=' "$T/$1.log" 2>/dev/null && [ -S "$(sock_path)" ]; then return 0; fi
		kill -0 "$SERVE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# sockclient NAME ARGS...: sockclient.py on the engine socket in the
# background, output in $T/NAME.ev; its pid in $SC_PID
sockclient() {
	local n=$1; shift
	: >"$T/$n.ev"
	python3 "$SOCKCLIENT" "$(sock_path)" "$@" --out "$T/$n.ev" &
	SC_PID=$!
	PIDS+=("$SC_PID")
}

# sc_events NAME: what a sockclient received, as JSON Lines
sc_events() { grep -v '^#' "$T/$1.ev" 2>/dev/null | cut -d' ' -f2-; }

# waitfor SECONDS CMD...: CMD succeeds within SECONDS
waitfor() {
	local s=$1 _i; shift
	for _i in $(seq $((s * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}

# proc_gone PID SECONDS: the process ended within SECONDS; its status in $GONE_RC
proc_gone() {
	local _i
	for _i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || { GONE_RC=0; wait "$1" 2>/dev/null || GONE_RC=$?; return 0; }
		sleep 0.1
	done
	return 1
}

# --- helpers for the review regressions (t_attempt_one_per_component,
# t_record_gate_remote_skip, t_rebuild_refused, t_record_also_files,
# t_branch_not_checked_out, t_record_index_lock) ---------------------------

# review_start: a registry, the server and chat upstreams, a short stop grace
review_start() {
	start_registry
	make_upstream v3.8.0 v3.8.1
	make_chat_upstream v1.0.0 v1.0.1
	export TALLY_STOP_GRACE=1
}
not() { ! "$@"; }

# new_repo NAMESPACE [ctl]: a fresh versions repo whose images live under
# $REG/NAMESPACE; with "ctl" the server builds through build.sh (clean $CTL)
new_repo() {
	fresh_versions_repo "$1"
	if [ "${2:-}" = ctl ]; then
		rm -rf "$T/ctl"
		use_ctl_build
		if [ "${GIT_PUSH:-false}" = true ]; then git -C "$V" push -q origin main; fi
	fi
}
porcelain() { git -C "$V" status --porcelain; }
worktree_clean() { [ -z "$(porcelain)" ]; }
has_text() { grep -q -- "$1" "$T/last.out" "$T/last.err"; } # TEXT: in the last expect_exit's output
holds_at_head() { git -C "$V" show HEAD:tally-holds.txt 2>/dev/null || true; }

# The Chinese catalog's translation of a message (what gettext gives from
# the build's tally.mo), for tests that check what people are shown.
zh_tr() { LANGUAGE=zh_CN LANG=zh_CN.UTF-8 TEXTDOMAINDIR="$(dirname "$TALLY_BIN")/locale" gettext -d tally "$1"; }
