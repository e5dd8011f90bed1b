#!/usr/bin/env bash
# versionLabel (SPEC section 4), on real buildah builds pushed to a real
# docker-registry: the seed's Dockerfile.mongodb hard-codes
# ENV MONGO_VERSION=7.0.4, so --build-arg MONGO_VERSION=7.0.5 is ignored and
# the image's org.opencontainers.image.version label says 7.0.4. The attempt
# fails with class recipe, nothing is recorded and no tag beyond the push's
# own is put; a matching label ships; versionLabel = "" turns the check off;
# a custom label is read. Then a version file with web=null (what a failed
# jq lookup recorded in the seed's history) is refused with file and line.
. "$(dirname "$0")/lib.sh"
start_registry

V="$T/versions"
git init -q "$V"
mkdir -p "$V/dockerfiles"
echo "payload" >"$V/dockerfiles/payload.txt"
cat >"$V/dockerfiles/Dockerfile.mongodb" <<'DF'
FROM scratch
ENV MONGO_VERSION=7.0.4
COPY payload.txt /payload.txt
LABEL org.opencontainers.image.version=$MONGO_VERSION
DF
cat >"$V/dockerfiles/Dockerfile.redis" <<'DF'
FROM scratch
ARG REDIS_VERSION=unset
COPY payload.txt /payload.txt
LABEL org.opencontainers.image.version=$REDIS_VERSION com.example.upstream=7.2.4
DF
printf '# base images\nmongodb=7.0.4\nmongoraw=7.0.4\nredis=7.2.4\nredisx=7.2.4\n' >"$V/base-versions.txt"
cat >"$T/compose.yml" <<'Y'
services:
  mongodb:
    image: mongo:7.0.5
  redis:
    image: redis:7.2.5
Y
B="buildah --storage-driver vfs build --isolation chroot -q"
cat >"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/test
	insecure = true
[component "mongodb"]
	file = base-versions.txt
	upstream = file-regex file://$T/compose.yml
	match = "^ +image: mongo:([0-9.]+)\$"
	image = {prefix}/mongodb
	tag = {version}-anolis
	tag = {version}
	floatingTag = latest-anolis
	build = $B --build-arg MONGO_VERSION={version} -t {ref} -f dockerfiles/Dockerfile.mongodb dockerfiles
	recipe = dockerfiles/Dockerfile.mongodb
[component "mongoraw"]
	file = base-versions.txt
	upstream = file-regex file://$T/compose.yml
	match = "^ +image: mongo:([0-9.]+)\$"
	image = {prefix}/mongoraw
	versionLabel = ""
	build = $B --build-arg MONGO_VERSION={version} -t {ref} -f dockerfiles/Dockerfile.mongodb dockerfiles
[component "redis"]
	file = base-versions.txt
	upstream = file-regex file://$T/compose.yml
	match = "^ +image: redis:([0-9.]+)\$"
	image = {prefix}/redis
	tag = {version}-anolis
	tag = {version}
	build = $B --build-arg REDIS_VERSION={version} -t {ref} -f dockerfiles/Dockerfile.redis dockerfiles
[component "redisx"]
	file = base-versions.txt
	upstream = file-regex file://$T/compose.yml
	match = "^ +image: redis:([0-9.]+)\$"
	image = {prefix}/redisx
	versionLabel = com.example.upstream
	build = $B --build-arg REDIS_VERSION={version} -t {ref} -f dockerfiles/Dockerfile.redis dockerfiles
CONF
git -C "$V" add -A
git -C "$V" commit -q -m seed
n0=$(commits)

expect_exit "run exits 1 (mongodb and redisx ignore the version)" 1 tally run --json
cp "$T/last.out" "$T/run1.json"
check "run --json valid" json_ok "$T/run1.json" 1
att() { jq -r --arg c "$1" "select(.event == \"attempt\" and .component == \$c) | .$2" "$T/run1.json"; }
expect_eq "mongodb: attempt failed" "$(att mongodb result)" failed
expect_eq "mongodb: class recipe" "$(att mongodb class)" recipe
expect_eq "mongodb: the recipe hint" "$(att mongodb hint)" "fix the Dockerfile or build recipe; a recipe change re-runs it"
log=$(att mongodb log)
check "mongodb: the log says the image says 7.0.4 and the build ignores {version}" \
	grep -qF "the image says 7.0.4: the build ignores {version}" "$log"
check "mongodb: the log names the label and the version shipped" \
	grep -q "label org.opencontainers.image.version of .* is 7.0.4, the version being shipped is 7.0.5" "$log"
expect_eq "mongodb: record unchanged" "$(record_of base-versions.txt mongodb)" 7.0.4
expect_eq "mongodb: the working tree unchanged" "$(sed -n 's/^mongodb=//p' "$V/base-versions.txt")" 7.0.4
check "mongodb: no record commit" bash -c "! git -C '$V' log --format=%s | grep -q 'mongodb'"
expect_eq "mongodb: the second version tag 7.0.5 was never put" "$(manifest_status 7.0.5 mongodb)" 404
expect_eq "mongodb: the floating tag was never put" "$(manifest_status latest-anolis mongodb)" 404
expect_eq "mongodb: only the push's own tag exists" "$(manifest_status 7.0.5-anolis mongodb)" 200
check "mongodb: the log says which tag holds the rejected image" \
	grep -q "7.0.5-anolis, written by the push, holds the rejected image" "$log"
jq -r 'select(.component == "mongodb") | .class' "$(state_dir)/ledger.jsonl" | tail -1 >"$T/cls"
expect_eq "mongodb: the ledger says recipe" "$(cat "$T/cls")" recipe

expect_eq "redis: the label matches: shipped" "$(att redis result)" shipped
expect_eq "redis: recorded 7.2.5" "$(record_of base-versions.txt redis)" 7.2.5
check "redis: the log says the label was compared" grep -qF "org.opencontainers.image.version=7.2.5, the version being shipped" "$(att redis log)"
expect_eq "mongoraw: versionLabel = \"\" turns the check off: shipped" "$(att mongoraw result)" shipped
expect_eq "mongoraw: recorded 7.0.5" "$(record_of base-versions.txt mongoraw)" 7.0.5
expect_eq "redisx: a custom versionLabel is read: recipe" "$(att redisx class)" recipe
check "redisx: the image says 7.2.4" grep -qF "the image says 7.2.4: the build ignores {version}" "$(att redisx log)"
expect_eq "redisx: record unchanged" "$(record_of base-versions.txt redisx)" 7.2.4
expect_eq "two record commits (redis, mongoraw)" "$(commits)" $((n0 + 2))

expect_exit "status --json" 0 tally status --json
expect_eq "status: mongodb failed, class recipe" \
	"$(jq -r 'select(.event == "status" and .component == "mongodb") | .state + "/" + .class' "$T/last.out")" failed/recipe

# the fix the seed needed: the build argument reaches the ENV
cat >"$V/dockerfiles/Dockerfile.mongodb" <<'DF'
FROM scratch
ARG MONGO_VERSION=7.0.4
ENV MONGO_VERSION=$MONGO_VERSION
COPY payload.txt /payload.txt
LABEL org.opencontainers.image.version=$MONGO_VERSION
DF
git -C "$V" commit -q -am "Dockerfile.mongodb: take MONGO_VERSION from the build"
expect_exit "after the fix, run mongodb ships" 0 tally run mongodb --json
expect_eq "mongodb: recorded 7.0.5" "$(record_of base-versions.txt mongodb)" 7.0.5
expect_eq "mongodb: both version tags read back the recorded digest" \
	"$(manifest_digest test/mongodb 7.0.5)" "$(commit_trailer HEAD Tally-Digest)"
expect_eq "mongodb: 7.0.5-anolis too" "$(manifest_digest test/mongodb 7.0.5-anolis)" "$(commit_trailer HEAD Tally-Digest)"
expect_exit "verify mongodb exits 0" 0 tally verify mongodb

# an alias is never a version, not even from an operator
expect_exit "run --version latest exits 2" 2 tally run mongodb --version latest
check "run --version latest: an alias, never a version" grep -qF "'latest' has no digit: an alias, never a version" "$T/last.err"
expect_exit "rebuild --version xenial exits 2" 2 tally rebuild mongodb --version xenial
expect_eq "aliases: record unchanged" "$(record_of base-versions.txt mongodb)" 7.0.5

# web=null: refused with file and line, nothing written
printf '# web front end\nweb=null\n' >"$V/web-versions.txt"
cat >>"$V/tally.conf" <<'CONF'
[component "web"]
	file = web-versions.txt
	upstream = manual
	build = false
CONF
git -C "$V" add -A
git -C "$V" commit -q -m "web, as the seed's scripts recorded it"
n1=$(commits)
expect_exit "web=null: run web --version 1.0.0 exits 2" 2 tally run web --version 1.0.0
check "web=null: the message names the file and line" grep -qF "web-versions.txt:2: 'null' is not a version for 'web'" "$T/last.err"
expect_exit "web=null: status still works" 0 tally status --json
expect_eq "web=null: status names the problem" \
	"$(jq -r 'select(.event == "status" and .component == "web") | .class' "$T/last.out")" input
expect_eq "web=null: nothing committed" "$(commits)" "$n1"
expect_eq "web=null: the file unchanged" "$(cat "$V/web-versions.txt")" $'# web front end\nweb=null'
finish
