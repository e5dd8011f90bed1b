#!/usr/bin/env bash
# examples/openim/tally.conf loads: in a repository of the seed's layout
# (version files, .env, dockerfiles/anolis), `tally status` reads it with no
# error and no network, and its filters pick the release lines it says.
. "$(dirname "$0")/lib.sh"
EX=$TALLY_SRC/examples/openim/tally.conf
V="$T/openim"
git init -q "$V"
mkdir -p "$V/dockerfiles/anolis"
printf 'server=v3.8.3-patch.9\n' >"$V/server-versions.txt"
printf 'chat=v1.8.4-patch.2\n' >"$V/versions.txt"
printf 'anolis=8.8\nmongodb=7.0.4\nredis=7.2.4\n' >"$V/base-versions.txt"
cat >"$V/.env" <<'ENV'
# images docker compose runs
OPENIM_SERVER_VERSION=v3.8.3-patch.9-anolis
OPENIM_CHAT_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/openim-chat:v1.8.4-patch.2-anolis # chat image
MONGO_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/mongodb:7.0.4-anolis
REDIS_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/redis:7.2.4-anolis
ENV
for d in anolis openim-server openim-chat mongodb redis; do
	printf 'FROM registry.cn-hangzhou.aliyuncs.com/openim/anolis:8.8\n' >"$V/dockerfiles/anolis/Dockerfile.$d"
done
cp "$EX" "$V/tally.conf"
git -C "$V" add -A
git -C "$V" commit -q -m "the seed's layout with the example tally.conf"

expect_exit "tally status loads examples/openim/tally.conf (exit 0)" 0 tally status --json
check "  --json: valid, summary exit 0" json_ok "$T/last.out" 0
check "  five components in order" jq_ok "$T/last.out" \
	'[.[] | select(.event == "status") | .component] == ["anolis", "server", "chat", "mongodb", "redis"]'
check "  the records are read" jq_ok "$T/last.out" \
	'any(.[]; .event == "status" and .component == "server" and .recorded == "v3.8.3-patch.9")'
check "  no warning or error" jq_ok "$T/last.out" 'all(.[]; .event != "error")'
expect_exit "every recipe the example names exists in the layout" 0 \
	bash -c "for r in \$(git config -f '$EX' --get-regexp '^component\..*\.recipe$' | cut -d' ' -f2); do test -f '$V'/\$r || exit 1; done"
check "every recordAlso names a variable of the .env" bash -c \
	"for v in \$(git config -f '$EX' --get-regexp '^component\..*\.recordalso$' | sed 's/^[^ ]* \.env:\([^=]*\)=.*/\1/'); do grep -q \"^\$v=\" '$V/.env' || exit 1; done"

# the include filters pick the lines the comments promise (POSIX ERE, as tally)
inc() { git config -f "$EX" "component.$1.include"; }
picks() { # COMP VERSION... : the ones the filter accepts, space separated
	local c=$1 v out=""; shift
	for v in "$@"; do printf '%s\n' "$v" | grep -Eq -- "$(inc "$c")" && out="$out$v "; done
	echo "$out"
}
expect_eq "server: the v3.8 line with -patch.N" \
	"$(picks server v3.8.3 v3.8.3-patch.9 v3.8.10-patch.12 v3.9.0 v3.8.1.rc.0 v3.8.3-patch.x v3.7.9)" \
	"v3.8.3 v3.8.3-patch.9 v3.8.10-patch.12 "
expect_eq "chat: the v1.8 line with -patch.N" "$(picks chat v1.8.4 v1.8.4-patch.2 v1.9.0 v1.3.0.rc.0)" \
	"v1.8.4 v1.8.4-patch.2 "
expect_eq "mongodb: 7.0.x only" "$(picks mongodb 7.0.4 7.0.12 7.0.4-jammy 7.0 8.0.0 7.0-rc-jammy latest)" "7.0.4 7.0.12 "
expect_eq "redis: 7.2.x only" "$(picks redis 7.2.4 7.2.4-alpine 7.4.0 rc-alpine 7.2)" "7.2.4 "
expect_eq "anolis: 8.x" "$(picks anolis 8.8 8.9 23 latest 8.8-slim)" "8.8 8.9 "
expect_eq "images go to Aliyun ACR" "$(git config -f "$EX" registry.prefix)" registry.cn-hangzhou.aliyuncs.com/openim
finish
