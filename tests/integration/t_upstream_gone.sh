#!/usr/bin/env bash
# An upstream that cannot be read makes the component `unknown`: nothing is
# built and nothing recorded. A version that upstream never published fails
# its build (class `missing-version`) and is not recorded either.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
n0=$(commits)
head0=$(git -C "$V" rev-parse HEAD)

# --- (a) the upstream repository is gone ---
mv "$UP" "$UP.gone"
expect_exit "(a) run with the upstream gone exits 1" 1 tally run --json
cp "$T/last.out" "$T/a-run.json"
check "(a) run --json valid, summary exit 1" json_ok "$T/a-run.json" 1
check "(a) no server attempt" jq_ok "$T/a-run.json" 'all(.[]; (.event == "attempt" and .component == "server") | not)'
check "(a) no server stage" jq_ok "$T/a-run.json" 'all(.[]; (.event == "stage" and .component == "server") | not)'
expect_eq "(a) record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "(a) HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$head0"
expect_eq "(a) nothing built: no server log" "$(count_logs server)" 0
expect_eq "(a) no ledger entry for server" "$(ledger_lines server)" 0
expect_eq "(a) nothing pushed" "$(manifest_status v3.8.1-anolis)" 404
expect_exit "(a) check --json exits 1" 1 tally check --json
cp "$T/last.out" "$T/a-check.json"
check "(a) check --json valid, summary exit 1" json_ok "$T/a-check.json" 1
c=$(jq -c 'select(.event == "check" and .component == "server")' "$T/a-check.json")
expect_eq "(a) upstream null" "$(jq -r .upstream <<<"$c")" null
expect_eq "(a) candidate null" "$(jq -r .candidate <<<"$c")" null
expect_eq "(a) state unknown" "$(jq -r .state <<<"$c")" unknown
expect_eq "(a) recorded still shown" "$(jq -r .recorded <<<"$c")" v3.8.0
check "(a) class set" test "$(jq -r .class <<<"$c")" != null -a -n "$(jq -r .class <<<"$c")"
check "(a) message names the upstream path" grep -qF "$UP" <<<"$(jq -r .message <<<"$c")"
check "(a) checked_at set" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<<"$(jq -r .checked_at <<<"$c")"
expect_eq "(a) chat unaffected" "$(jq -r 'select(.component == "chat") | .state' "$T/a-check.json")" current
expect_exit "(a) status --json (no network)" 0 tally status --json
expect_eq "(a) status keeps unknown" "$(jq -r 'select(.component == "server") | .state' "$T/last.out")" unknown
expect_eq "(a) status upstream null" "$(jq -r 'select(.component == "server") | .upstream' "$T/last.out")" null
mv "$UP.gone" "$UP"

# --- (b) no upstream tag passes the include filter ---
git init -q "$T/upstream-b"
git -C "$T/upstream-b" commit -q --allow-empty -m init
for t in release-3.9 v3.9.0-rc.1 v3.9 3.9.0 v3.9.0.1; do git -C "$T/upstream-b" tag "$t"; done
conf_set component.server.upstream "git-tags $T/upstream-b"
commit_versions "server upstream with no matching tag"
nb=$(commits)
expect_exit "(b) check with no matching tag exits 1" 1 tally check --json
check "(b) check --json valid" json_ok "$T/last.out" 1
c=$(jq -c 'select(.event == "check" and .component == "server")' "$T/last.out")
expect_eq "(b) state unknown" "$(jq -r .state <<<"$c")" unknown
expect_eq "(b) upstream null" "$(jq -r .upstream <<<"$c")" null
check "(b) class set" test "$(jq -r .class <<<"$c")" != null
check "(b) message set" test "$(jq -r .message <<<"$c")" != null
expect_exit "(b) run exits 1" 1 tally run --json
check "(b) no server attempt" jq_ok "$T/last.out" 'all(.[]; (.event == "attempt" and .component == "server") | not)'
expect_eq "(b) record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "(b) no commit" "$(commits)" "$nb"
expect_eq "(b) nothing built" "$(count_logs server)" 0

# --- (c) --version of a version that upstream never published ---
# The build fetches the sources the way the seed did: git clone --branch.
cat >"$V/dockerfiles/build-server.sh" <<'SH'
#!/bin/sh
# usage: build-server.sh VERSION REF UPSTREAM
set -e
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git clone -q --depth 1 --branch "$1" "file://$3" "$src/open-im-server"
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="$1" -t "$2" -f dockerfiles/Containerfile.server dockerfiles
SH
chmod +x "$V/dockerfiles/build-server.sh"
conf_set component.server.upstream "git-tags $UP"
conf_set component.server.build "dockerfiles/build-server.sh {version} {ref} $UP"
commit_versions "server build clones its sources"
nc=$(commits)
headc=$(git -C "$V" rev-parse HEAD)
expect_exit "(c) run --version v3.8.7 exits 1" 1 tally run server --version v3.8.7 --json
cp "$T/last.out" "$T/c-run.json"
check "(c) run --json valid" json_ok "$T/c-run.json" 1
att=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/c-run.json")
expect_eq "(c) attempt version" "$(jq -r .version <<<"$att")" v3.8.7
expect_eq "(c) attempt failed" "$(jq -r .result <<<"$att")" failed
expect_eq "(c) class missing-version" "$(jq -r .class <<<"$att")" missing-version
expect_eq "(c) hint" "$(jq -r .hint <<<"$att")" "check that upstream really published it; skip it if not"
log=$(jq -r .log <<<"$att")
check "(c) log says the branch was not found" grep -q "Remote branch v3.8.7 not found" "$log"
expect_eq "(c) record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "(c) HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$headc"
expect_eq "(c) no commit" "$(commits)" "$nc"
expect_eq "(c) nothing pushed" "$(manifest_status v3.8.7-anolis)" 404
check "(c) working tree clean" test -z "$(git -C "$V" status --porcelain)"
# control: the same recipe ships a version that exists
expect_exit "(c) run --version v3.8.1 ships with the same recipe" 0 tally run server --version v3.8.1 --json
expect_eq "(c) record moved to v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "(c) exactly one new commit" "$(commits)" $((nc + 1))
finish
