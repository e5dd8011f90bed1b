#!/usr/bin/env bash
# Build secrets (component.<n>.secret, SPEC sections 4 and 9): the value
# reaches the build through a 0600 file named by {secret:ID} (never argv,
# never the environment), the file is gone after the build whatever
# happened, and every occurrence of the value in the output - also split
# across two writes - is *** in the log, the live output, the ledger, batch
# output, the notification and the record; an unset secret is an input
# error before anything is built. buildah's --secret proves the value
# reaches a RUN step of a real build.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo

export GH_TOKEN="ghp_s3cr3tV4lue0fTheT0ken"
printf 'file-secret-Zq9-value\n' >"$T/npmrc"
CTL="$T/ctl"
mkdir -p "$CTL"

# a build that tries every way to leak: prints the value, prints it in two
# halves across two writes, prints its whole environment, and keeps running
# until the test has looked at its argv and its secret file
cat >"$V/dockerfiles/build-server.sh" <<SH
#!/bin/sh
tok=\$(cat "\$1")
echo "token is \$tok"
printf 'split: %s' "\$(printf %s "\$tok" | cut -c1-9)"
sleep 0.3
printf '%s end\n' "\$(printf %s "\$tok" | cut -c10-)"
echo "file secret: \$(cat "\$2")"
env | sort
echo \$\$ >"$CTL/pid"
ls -l "\$1" >"$CTL/perm"
echo "\$1" >"$CTL/path"
while [ ! -e "$CTL/go" ]; do sleep 0.1; done
[ -e "$CTL/fail" ] && { echo "failing on purpose with \$tok" >&2; exit 3; }
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="\$3" -t "\$4" -f dockerfiles/Containerfile.server dockerfiles
SH
chmod +x "$V/dockerfiles/build-server.sh"
conf_set component.server.build 'dockerfiles/build-server.sh {secret:gh} {secret:npm} {version} {ref}'
git config -f "$V/tally.conf" --add component.server.secret gh=env:GH_TOKEN
git config -f "$V/tally.conf" --add component.server.secret "npm=file:$T/npmrc"
cat >"$T/notify.sh" <<SH
#!/bin/sh
env >>"$T/notify.env"
SH
chmod +x "$T/notify.sh"
conf_set tally.notify "$T/notify.sh"
commit_versions "server builds with secrets"

# --- a shipped attempt ---
"$TALLY_BIN" -C "$V" --no-tui -v run server --json >"$T/run1.json" 2>"$T/run1.err" &
RUN=$!
PIDS+=("$RUN")
for _ in $(seq 200); do [ -s "$CTL/perm" ] && break; sleep 0.1; done
bpid=$(cat "$CTL/pid" 2>/dev/null || echo 0)
check "the build ran" test "$bpid" != 0
check "  its argv does not hold the token" bash -c "! tr '\\0' ' ' </proc/$bpid/cmdline | grep -q '$GH_TOKEN'"
check "  its argv names the secret file instead" grep -q "$(cat "$CTL/path")" <(tr '\0' ' ' </proc/"$bpid"/cmdline)
check "  its environment does not hold the token" bash -c "! tr '\\0' '\\n' </proc/$bpid/environ | grep -q '$GH_TOKEN'"
check "  the secret file is 0600 while the build runs" grep -q '^-rw-------' "$CTL/perm"
secret_file=$(cat "$CTL/path")
check "  and it holds the value" grep -qx "$GH_TOKEN" "$secret_file"
touch "$CTL/go"
wait "$RUN" && rc=0 || rc=$?
expect_eq "run ships (exit 0)" "$rc" 0
expect_eq "record moved" "$(record_of server-versions.txt server)" v3.8.1
check "the secret file is gone after the build" test ! -e "$secret_file"
check "  and its directory" test ! -e "$(dirname "$secret_file")"
log=$(jq -r 'select(.event == "attempt" and .component == "server") | .log' "$T/run1.json")
check "the log has the masked line" grep -qx 'token is \*\*\*' "$log"
check "  a value split across two writes is masked too" grep -qx 'split: \*\*\* end' "$log"
check "  the file secret is masked" grep -qx 'file secret: \*\*\*' "$log"
check "  the build's environment was printed (PATH is there)" grep -q '^PATH=' "$log"
leaks() { grep -rlF -e "$GH_TOKEN" -e "file-secret-Zq9-value" -e "ghp_s3cr3t" "$@" 2>/dev/null; }
check "no copy of either value in the state dir (logs, ledger, caches)" test -z "$(leaks "$(state_dir)")"
check "  nor in batch output" test -z "$(leaks "$T/run1.json" "$T/run1.err")"
check "  nor in the notification's environment" test -z "$(leaks "$T/notify.env")"
check "  nor in git history" test -z "$(git -C "$V" log -p --all | grep -F -e "$GH_TOKEN" -e file-secret-Zq9-value)"
expect_exit "tally logs prints the masked log" 0 tally logs server
check "  masked" grep -qx 'token is \*\*\*' "$T/last.out"

# --- a failed build: the file is removed too, the failure line is masked ---
rm -f "$CTL/go" "$CTL/perm"
touch "$CTL/fail"
git -C "$UP" tag v3.8.2
"$TALLY_BIN" -C "$V" --no-tui -v run server >"$T/run2.out" 2>&1 &
RUN=$!
PIDS+=("$RUN")
for _ in $(seq 200); do [ -s "$CTL/perm" ] && break; sleep 0.1; done
secret_file=$(cat "$CTL/path")
touch "$CTL/go"
wait "$RUN" && rc=0 || rc=$?
expect_eq "a failing build exits 1" "$rc" 1
check "  the live output (-v) has the masked lines" grep -q 'token is \*\*\*' "$T/run2.out"
check "  and the masked failure line" grep -q 'failing on purpose with \*\*\*' "$T/run2.out"
check "  its secret file is gone" test ! -e "$secret_file"
expect_exit "status --json" 0 tally status --json
check "  the failure's evidence is masked" bash -c "jq -r 'select(.component == \"server\") | .message, (.evidence.line // empty)' '$T/last.out' | grep -q . && ! grep -qF '$GH_TOKEN' '$T/last.out'"
check "no copy of the value anywhere in the state dir, nor in the live output" test -z "$(leaks "$(state_dir)" "$T/run2.out")"
rm -f "$CTL/fail"

# the console shows the same masked log
. "$TALLY_SRC/tests/console/tmux.sh"
no_token_on_screen() { ! screen | grep -qF "$GH_TOKEN"; }
expect_exit "pause the schedule (the console's engine must not run one)" 0 tally pause
console_start 120 40
expect_screen "the console's log pane shows the masked failure" 'failing on purpose with \*\*\*' 20
check "  and never the token" no_token_on_screen
console_stop
expect_exit "resume the schedule" 0 tally resume

# --- an unset secret: input error before building ---
unset GH_TOKEN
expect_exit "a secret missing from the environment: exit 2" 2 tally retry server --json
check "  it names the component, the secret and the variable" grep -q 'component.server.secret gh: \$GH_TOKEN is not set' "$T/last.out"
check "  nothing was built" jq_ok "$T/last.out" 'all(.[]; (.event == "stage" and .stage == "build" and .result == "started") | not)'
export GH_TOKEN="ghp_s3cr3tV4lue0fTheT0ken"

# --- bad configuration: file and line ---
cp "$V/tally.conf" "$T/good.conf"
git config -f "$V/tally.conf" --add component.server.secret 'x=vault:foo'
expect_exit "a secret with an unknown source: exit 2" 2 tally status
check "  names the file and line" grep -Eq 'tally.conf:[0-9]+: component.server.secret: "x=vault:foo": the source must be env:VAR or file:PATH' "$T/last.err"
cp "$T/good.conf" "$V/tally.conf"
git config -f "$V/tally.conf" component.server.build 'dockerfiles/build-server.sh {secret:nope} {version} {ref}'
expect_exit "{secret:ID} of an undeclared secret: exit 2" 2 tally status
check "  names the build line and the ID" grep -Eq 'tally.conf:[0-9]+: component.server.build: \{secret:nope\} names no secret of this component' "$T/last.err"
cp "$T/good.conf" "$V/tally.conf"
git config -f "$V/tally.conf" component.server.push 'buildah push {secret:gh} {ref}'
expect_exit "{secret:ID} outside the build: exit 2" 2 tally status
check "  says the variable is unknown there" grep -q 'unknown variable {secret:gh}' "$T/last.err"
cp "$T/good.conf" "$V/tally.conf"

# --- buildah build --secret: the value reaches a RUN step of a real build ---
mkdir -p "$V/dockerfiles/base"
cp /bin/busybox "$T/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' >"$T/Containerfile.base"
buildah --storage-driver vfs build --isolation chroot -q -t localhost/tally-test-busybox:latest -f "$T/Containerfile.base" "$T" >/dev/null
cat >"$V/dockerfiles/Containerfile.chat" <<'CF'
FROM localhost/tally-test-busybox:latest
RUN --mount=type=secret,id=gh test "$(cat /run/secrets/gh)" = "ghp_s3cr3tV4lue0fTheT0ken" && echo "the build saw the secret: $(cat /run/secrets/gh)"
RUN test ! -e /run/secrets/gh && echo "and it is not in the image"
CF
conf_set component.chat.build 'buildah --storage-driver vfs build --isolation chroot --pull=never --secret id=gh,src={secret:gh} -t {ref} -f dockerfiles/Containerfile.chat dockerfiles'
git config -f "$V/tally.conf" --add component.chat.secret gh=env:GH_TOKEN
commit_versions "chat reads a secret in RUN"
git -C "$T/chat-upstream" tag v1.0.1
expect_exit "a buildah build with --secret ships" 0 tally run chat --json
clog=$(jq -r 'select(.event == "attempt" and .component == "chat") | .log' "$T/last.out")
check "  the RUN step saw the value (masked in the log)" grep -q 'the build saw the secret: \*\*\*' "$clog"
check "  and the image does not keep it" grep -q 'and it is not in the image' "$clog"
check "  no copy of the value in its log" test -z "$(leaks "$clog")"
expect_eq "  chat recorded" "$(record_of chat-versions.txt chat)" v1.0.1
finish
