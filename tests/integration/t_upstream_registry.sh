#!/usr/bin/env bash
# registry-tags against a real docker-registry on loopback, with include /
# exclude / prerelease filters and tags that are not versions. (Debian's
# docker-registry 2.8 ignores ?n=, so Link paging is covered by
# tests/unit/test_registry.c against its fixture.)
. "$(dirname "$0")/lib.sh"
start_registry

# push_tags REPO TAG...: one tiny OCI image under every TAG, through the API
push_tags() {
	local repo=$1; shift
	local cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
	local cd; cd="sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
	local loc
	loc=$(curl -fsS -X POST -D - -o /dev/null "http://$REG/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //Ip')
	case $loc in /*) loc="http://$REG$loc" ;; esac
	case $loc in *\?*) loc="$loc&digest=$cd" ;; *) loc="$loc?digest=$cd" ;; esac
	printf '%s' "$cfg" | curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @- "$loc" >/dev/null
	local m
	m=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}' "$cd" "${#cfg}")
	for t in "$@"; do
		printf '%s' "$m" | curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary @- "http://$REG/v2/$repo/manifests/$t" >/dev/null
	done
}

push_tags up/mongo 6.0.13 7.0.4 7.0.12 7.0.9 8.0.0-rc.1 8.0.0-alpine latest 7.0 v7.1.0
push_tags up/redis 7.0.0 7.2.4 7.2.4-alpine 7.4-rc2

V="$T/versions"
git init -q "$V"
printf 'mongodb=6.0.13\nmongo7=7.0.4\nmongopre=7.0.4\nredis=7.0.0\nnone=1.0\nabsent=1.0\n' >"$V/versions.txt"
cat >"$V/tally.conf" <<CONF
[registry]
	insecure = true
[component "mongodb"]
	file = versions.txt
	upstream = registry-tags $REG/up/mongo
	include = ^[0-9]+\\\\.[0-9]+\\\\.[0-9]+\$
	build = false
[component "mongo7"]
	file = versions.txt
	upstream = registry-tags $REG/up/mongo
	include = ^7\\\\.
	exclude = ^7\\\\.0\$
	build = false
[component "mongopre"]
	file = versions.txt
	upstream = registry-tags $REG/up/mongo
	include = ^[0-9.]+(-rc\\\\.[0-9]+)?\$
	prerelease = true
	build = false
[component "redis"]
	file = versions.txt
	upstream = registry-tags $REG/up/redis
	exclude = alpine
	build = false
[component "none"]
	file = versions.txt
	upstream = registry-tags $REG/up/mongo
	include = ^9\\\\.
	build = false
[component "absent"]
	file = versions.txt
	upstream = registry-tags $REG/up/nothing-here
	build = false
CONF
git -C "$V" add -A && git -C "$V" commit -q -m seed

expect_exit "check exits 1 (none, absent)" 1 tally check --json
cp "$T/last.out" "$T/check.json"
check "check --json valid" json_ok "$T/check.json" 1
sel() { jq -r --arg c "$1" "select(.event == \"check\" and .component == \$c) | .$2" "$T/check.json"; }
expect_eq "mongodb: include x.y.z, version order (7.0.12 > 7.0.9)" "$(sel mongodb upstream)" 7.0.12
expect_eq "mongodb: outdated" "$(sel mongodb state)" outdated
expect_eq "mongo7: include ^7. and exclude ^7.0\$" "$(sel mongo7 upstream)" 7.0.12
expect_eq "mongopre: prerelease = true takes 8.0.0-rc.1" "$(sel mongopre upstream)" 8.0.0-rc.1
expect_eq "redis: exclude alpine; 7.4-rc2 is a pre-release" "$(sel redis upstream)" 7.2.4
expect_eq "none: unknown" "$(sel none state)" unknown
expect_eq "none: class missing-version" "$(sel none class)" missing-version
expect_eq "absent: unknown" "$(sel absent state)" unknown
check "absent: message names the repository" grep -qF "up/nothing-here" <<<"$(sel absent message)"
finish
