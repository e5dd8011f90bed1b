#!/usr/bin/env bash
# github-release and github-tag against the fixture GitHub API (via
# github.apiUrl): all pages read, drafts never, pre-releases only with
# prerelease = true, the second check of an unchanged upstream is all 304s,
# a changed upstream is seen, the token goes only to the API host and never
# into output or state files, and `tally run` ships a github-release version.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture

TOKEN="ghp_fixtureSEKRIT0123456789"
VERSIONS=$'server=v2.0.0\nrc=v2.0.0\ntags=v1.0.0\nsmall=v1.0.0\nmongodb=6.0.0'
make_gh_repo "$(cat <<CONF
[component "server"]
	file = versions.txt
	upstream = github-release o/app
	include = ^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+
	build = true
[component "rc"]
	file = versions.txt
	upstream = github-release o/app
	prerelease = true
	build = true
[component "tags"]
	file = versions.txt
	upstream = github-tag o/app
	include = ^v2\\\\.
	build = true
[component "small"]
	file = versions.txt
	upstream = github-release o/small
	build = true
[component "mongodb"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = image: mongo:([0-9.]+)
	build = true
CONF
)"
n0=$(commits)

export GITHUB_TOKEN="$TOKEN"
expect_exit "first check exits 0" 0 tally check --json
cp "$T/last.out" "$T/check1.json"; cp "$T/last.err" "$T/check1.err"
check "check --json valid" json_ok "$T/check1.json" 0
expect_eq "server: newest stable release, found on the last page" "$(check_field server upstream)" v2.24.9
expect_eq "server: candidate" "$(check_field server candidate)" v2.24.9
expect_eq "server: state outdated" "$(check_field server state)" outdated
expect_eq "server: class null" "$(check_field server class)" null
expect_eq "server: retry_at null" "$(check_field server retry_at)" null
expect_eq "rc: prerelease = true takes GitHub's pre-release (never the draft)" "$(check_field rc upstream)" v3.0.0-rc.1
expect_eq "tags: github-tag, all pages, include applied" "$(check_field tags upstream)" v2.99.0
expect_eq "small: the beta flagged pre-release is passed over" "$(check_field small upstream)" v1.1.0
expect_eq "mongodb: file-regex over http" "$(check_field mongodb upstream)" 7.0.4
expect_eq "all three release pages read (twice: server and rc share them)" \
	"$(gh_count '.path | startswith("/repos/o/app/releases")')" 6
check "page 3 was asked for" jq_ok "$GH_LOG" 'any(.[]; .path == "/repos/o/app/releases?per_page=100&page=3")'
check "User-Agent is tally/VERSION" jq_ok "$GH_LOG" 'all(.[]; .ua | test("^tally/[0-9]"))'
expect_eq "no record moved by a check" "$(commits)" "$n0"

# --- the second check of an unchanged upstream is all 304s ---
n1=$(gh_count)
gh_reset
expect_exit "second check exits 0" 0 tally check --json
cp "$T/last.out" "$T/check2.json"
expect_eq "second check: as many requests as the first" "$(gh_count)" "$n1"
expect_eq "second check: every answer is 304" "$(gh_count '.status != 304')" 0
expect_eq "second check: every request was conditional" "$(gh_count '.inm == null')" 0
expect_eq "second check: same upstream from the cache" "$(check_field server upstream "$T/check2.json")" v2.24.9
expect_eq "second check: rc from the cache" "$(check_field rc upstream "$T/check2.json")" v3.0.0-rc.1
expect_eq "second check: mongodb from the cache" "$(check_field mongodb upstream "$T/check2.json")" 7.0.4

# --- the token goes only to the API host ---
check "token sent to the API host" jq_ok "$GH_LOG" 'all(.[] | select(.host | startswith("127.0.0.1")); .auth)'
check "token never sent to another host" jq_ok "$GH_LOG" 'all(.[] | select(.host | startswith("localhost")); .auth | not)'
check "some requests went to the other host" jq_ok "$GH_LOG" 'any(.[]; .host | startswith("localhost"))'
SD=$(state_dir)
check "http-cache.json exists" test -s "$SD/http-cache.json"
expect_eq "http-cache.json is 0600" "$(stat -c %a "$SD/http-cache.json")" 600
check "token not in any state file" test -z "$(grep -rlF "$TOKEN" "$SD" || true)"
check "token not in any output" test -z "$(grep -lF "$TOKEN" "$T"/check1.* "$T"/check2.json || true)"

# --- a changed upstream is seen (new ETag) ---
curl -fsS -X POST "$GH/_bump/o/app" >/dev/null
expect_exit "check after a new release" 0 tally check --json server
expect_eq "the new release is seen" "$(check_field server upstream)" v2.25.0

# --- the token from github.tokenFile; a bad token file is an input error ---
unset GITHUB_TOKEN
printf '%s\n' "$TOKEN" >"$T/token"
conf_set github.tokenFile "$T/token"
gh_reset
expect_exit "check with tokenFile" 0 tally check --json small
check "tokenFile token sent to the API host" jq_ok "$GH_LOG" 'length > 0 and all(.[]; .auth)'
conf_set github.tokenFile "$T/no-such-token"
expect_exit "check with a missing tokenFile fails" 1 tally check --json small
check "message names the token file" grep -qF "$T/no-such-token" <<<"$(check_field small message)"
git -C "$V" checkout -q tally.conf
gh_reset
expect_exit "check without a token" 0 tally check --json small
check "no token: no Authorization header" jq_ok "$GH_LOG" 'length > 0 and all(.[]; .auth | not)'

# --- $TALLY_GITHUB_API points the GitHub kinds at a server when
# github.apiUrl is not set (config.c: the key wins over the variable) ---
git config -f "$V/tally.conf" --unset github.apiUrl
TALLY_GITHUB_API="$GH" expect_exit "TALLY_GITHUB_API without github.apiUrl" 0 tally check --json small
git -C "$V" checkout -q tally.conf

# --- tally run ships a github-release version end to end ---
start_registry
mkdir -p "$V/df"
printf 'FROM scratch\nCOPY payload.txt /payload.txt\n' >"$V/df/Containerfile"
echo payload >"$V/df/payload.txt"
cat >>"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/gh
	insecure = true
CONF
git config -f "$V/tally.conf" component.small.build \
	"buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f df/Containerfile df"
git config -f "$V/tally.conf" component.small.image "{prefix}/small"
commit_versions "small ships"
n2=$(commits)
expect_exit "run small ships v1.1.0" 0 tally run small --json
expect_eq "record moved to v1.1.0" "$(record_of versions.txt small)" v1.1.0
expect_eq "one commit" "$(commits)" $((n2 + 1))
expect_eq "image pushed" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/gh/small/manifests/v1.1.0")" 200
finish
