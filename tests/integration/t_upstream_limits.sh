#!/usr/bin/env bash
# Rate limits: a 403 with X-RateLimit-Remaining: 0 (or a 429 with
# Retry-After) makes the upstream unknown with class rate-limit and the
# reset in retry_at; the host's reset is kept in http-cache.json, so later
# checks and runs send no request to that host before it; other hosts go on.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture

VERSIONS=$'limited=v1.0.0\nsmall=v1.0.0\nmongodb=6.0.0'
make_gh_repo "$(cat <<CONF
[component "limited"]
	file = versions.txt
	upstream = github-release o/limited
	build = false
[component "small"]
	file = versions.txt
	upstream = github-release o/small
	build = false
[component "mongodb"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = image: mongo:([0-9.]+)
	build = false
CONF
)"
n0=$(commits)
now=$(date +%s)

# one check at a time, so that "limited" is answered first
expect_exit "check limited exits 1" 1 tally check --json limited
cp "$T/last.out" "$T/c1.json"
check "check --json valid" json_ok "$T/c1.json" 1
expect_eq "state unknown" "$(check_field limited state)" unknown
expect_eq "class rate-limit" "$(check_field limited class)" rate-limit
expect_eq "upstream null" "$(check_field limited upstream)" null
retry=$(check_field limited retry_at)
retry_s=$(date -d "$retry" +%s)
check "retry_at is the reset, in an hour ($retry)" test "$retry_s" -ge $((now + 3500)) -a "$retry_s" -le $((now + 3700))
check "message names the URL" grep -qF "$GH/repos/o/limited/releases" <<<"$(check_field limited message)"
check "message gives the reset" grep -qF "$retry" <<<"$(check_field limited message)"
SD=$(state_dir)
check "reset kept in http-cache.json" jq_ok "$SD/http-cache.json" --arg o "http://127.0.0.1:$GH_PORT" '.[0].limits[$o].until > 0'
expect_eq "one request so far" "$(gh_count)" 1

gh_reset
expect_exit "check everything while limited exits 1" 1 tally check --json
cp "$T/last.out" "$T/c2.json"
expect_eq "no request to the limited host" "$(gh_count '.host | startswith("127.0.0.1")')" 0
expect_eq "limited: still rate-limit" "$(check_field limited class)" rate-limit
expect_eq "limited: same retry_at" "$(check_field limited retry_at)" "$retry"
expect_eq "small (same host): rate-limit too" "$(check_field small class)" rate-limit
expect_eq "small: same retry_at" "$(check_field small retry_at)" "$retry"
check "small: message says no request was sent" grep -q "no request" <<<"$(check_field small message)"
expect_eq "mongodb (another host) is read" "$(check_field mongodb upstream)" 7.0.4
expect_eq "mongodb class null" "$(check_field mongodb class)" null

expect_exit "status --json keeps the rate limit" 0 tally status --json
expect_eq "status: small unknown" "$(jq -r 'select(.component == "small") | .state' "$T/last.out")" unknown
expect_eq "status: retry_at" "$(jq -r 'select(.component == "small") | .retry_at' "$T/last.out")" "$retry"

gh_reset
expect_exit "run while limited exits 1" 1 tally run --json
check "run: no attempt for a rate-limited component" jq_ok "$T/last.out" 'all(.[]; (.event == "attempt" and (.component == "small" or .component == "limited")) | not)'
expect_eq "run: no request to the limited host" "$(gh_count '.host | startswith("127.0.0.1")')" 0
expect_eq "records unchanged" "$(record_of versions.txt small)" v1.0.0
expect_eq "no commit" "$(commits)" "$n0"

# --- 429 with Retry-After, and GitHub's secondary limit (403 + Retry-After) ---
for case in "retry 120" "secondary 30"; do
	set -- $case
	VERSIONS="c=v1.0.0"
	make_gh_repo "$(printf '[component "c"]\n\tfile = versions.txt\n\tupstream = github-release o/%s\n\tbuild = false\n' "$1")"
	now=$(date +%s)
	expect_exit "$1: check exits 1" 1 tally check --json
	expect_eq "$1: class rate-limit" "$(check_field c class)" rate-limit
	r=$(date -d "$(check_field c retry_at)" +%s)
	check "$1: retry_at is now + $2 s" test "$r" -ge $((now + $2 - 2)) -a "$r" -le $((now + $2 + 5))
	gh_reset
	expect_exit "$1: second check exits 1" 1 tally check --json
	expect_eq "$1: no request before the reset" "$(gh_count)" 0
done

# --- 403 without rate-limit headers is not a rate limit ---
VERSIONS="c=v1.0.0"
make_gh_repo "$(printf '[component "c"]\n\tfile = versions.txt\n\tupstream = github-release o/forbidden\n\tbuild = false\n')"
expect_exit "forbidden: check exits 1" 1 tally check --json
expect_eq "forbidden: class auth" "$(check_field c class)" auth
expect_eq "forbidden: retry_at null" "$(check_field c retry_at)" null
gh_reset
expect_exit "forbidden: asks again" 1 tally check --json
expect_eq "forbidden: a request was sent" "$(gh_count)" 1
finish
