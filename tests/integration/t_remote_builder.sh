#!/usr/bin/env bash
# t_remote_builder.sh - a build that runs on another machine through its
# templates only (SPEC section 15): build and push go over SSH to a
# "builder" (an sshd this test starts on a loopback port, with its own host
# key and client key, and buildah storage of its own), and tally, which
# never saw the image, reads the pushed digest back from the registry and
# records it. A builder that cannot be reached fails the attempt and leaves
# the record where it was.
. "$(dirname "$0")/lib.sh"

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || { echo "not ok - sshd missing (scripts/bootstrap installs openssh-server)"; exit 1; }

start_registry
make_upstream v3.8.0 v3.8.1
make_versions_repo

# --- the builder: sshd on 127.0.0.1:$SSH_PORT ------------------------------
S="$T/ssh"
B="$T/builder"   # the builder's own disk: its build context and image storage
mkdir -p "$S" "$B/ctx" /run/sshd
chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
SSH_PORT=$(free_port)
cat >"$S/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PidFile $S/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
CONF
"$SSHD" -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
PIDS+=($!)
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/host_key.pub")" >"$S/known_hosts"
for _ in $(seq 100); do
	ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile="$S/known_hosts" -o StrictHostKeyChecking=yes \
		-i "$S/client_key" -p "$SSH_PORT" "$(id -un)@127.0.0.1" true 2>/dev/null && break
	sleep 0.1
done
check "the builder answers over ssh with its own host key" \
	ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile="$S/known_hosts" -o StrictHostKeyChecking=yes \
	-i "$S/client_key" -p "$SSH_PORT" "$(id -un)@127.0.0.1" true

# The builder has its own copy of the recipe (a checkout of its own) and
# its own image storage; nothing of the build is on this host.
cp "$V/dockerfiles/"* "$B/ctx/"
SSHB="ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=$S/known_hosts -o StrictHostKeyChecking=yes -i $S/client_key -p $SSH_PORT $(id -un)@127.0.0.1"
BUILDAH_B="buildah --root $B/storage --runroot $B/run --storage-driver vfs"
conf_set component.server.build "$SSHB $BUILDAH_B build --isolation chroot -q --build-arg OPENIM_VERSION={version} -t {ref} -f $B/ctx/Containerfile.server $B/ctx"
conf_set component.server.push "$SSHB $BUILDAH_B push --tls-verify=false {ref} docker://{ref}"
conf_set component.server.timeout 300
commit_versions "build server on the builder"

expect_exit "run ships server through the builder" 0 tally run server
expect_eq "server is recorded at the new version" "$(record_of server-versions.txt server)" v3.8.1
want=$(manifest_digest test/openim-server v3.8.1-anolis)
check "the registry holds the pushed image" test -n "$want"
att=$(last_attempt_id server)
got=$(ledger_entry "$att" | jq -r '.digest // empty')
expect_eq "the ledger's digest is the one read back from the registry" "$got" "$want"
expect_eq "the record commit carries that digest" "$(commit_trailer HEAD Tally-Digest)" "$want"
check "the image was built on the builder (its storage has it)" \
	bash -c "$BUILDAH_B images --format '{{.Name}}:{{.Tag}}' | grep -q 'openim-server:v3.8.1'"
check "and not on this host (no local image)" \
	bash -c "! buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -q 'openim-server:v3.8.1'"
check "every version tag reads back the recorded digest" \
	test "$(manifest_digest test/openim-server v3.8.1)" = "$want"

# --- the builder goes away: the attempt fails, the record stays -----------
kill "$(cat "$S/sshd.pid")" 2>/dev/null || true
for _ in $(seq 50); do [ -f "$S/sshd.pid" ] && kill -0 "$(cat "$S/sshd.pid")" 2>/dev/null || break; sleep 0.1; done
git -C "$UP" tag v3.8.2
before=$(git -C "$V" rev-parse HEAD)
expect_exit "run fails while the builder is unreachable" 1 tally run server
expect_eq "the record did not move" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "no commit was made" "$(git -C "$V" rev-parse HEAD)" "$before"
att=$(last_attempt_id server)
entry=$(ledger_entry "$att")
echo "# $entry"
expect_eq "the attempt failed in the build stage" "$(jq -r '"\(.result) \(.stage // .evidence.stage)"' <<<"$entry")" "failed build"
expect_eq "an unreachable builder is a network failure (retried with backoff)" "$(jq -r .class <<<"$entry")" network
check "no v3.8.2 image reached the registry" test -z "$(manifest_digest test/openim-server v3.8.2-anolis)"

finish
