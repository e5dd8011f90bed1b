#!/usr/bin/env bash
# `tally logs COMP --follow` while an engine builds: it prints the running
# attempt's log as it grows and ends with the attempt's last line.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
cat >"$V/slow.sh" <<'S'
#!/bin/sh
for i in 1 2 3 4 5; do echo "slow line $i"; sleep 0.4; done
exec "$@"
S
chmod +x "$V/slow.sh"
conf_set component.server.build "./slow.sh buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile.server dockerfiles"
git -C "$V" add -A
git -C "$V" commit -qm "a slow build"
expect_exit "setup: pause the schedule" 0 tally pause
"$TALLY_BIN" -C "$V" serve 2>"$T/serve.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$(state_dir)/engine.sock" ] && break; sleep 0.1; done
tally run server >"$T/run.out" 2>&1 &
RUN=$!
for _ in $(seq 50); do ls "$(state_dir)"/logs/server/*.log >/dev/null 2>&1 && break; sleep 0.1; done
expect_exit "logs --follow ends when the attempt ends" 0 timeout 60 "$TALLY_BIN" -C "$V" --no-tui logs server --follow
check "  it printed every line of the build" test "$(grep -c '^slow line' "$T/last.out")" = 5
check "  its last line is the attempt's end" bash -c "tail -1 '$T/last.out' | grep -q 'ended: shipped'"
wait "$RUN"
expect_eq "the record moved" "$(record_of server-versions.txt server)" v3.8.1
expect_exit "stop" 0 "$TALLY_BIN" -C "$V" stop
finish
