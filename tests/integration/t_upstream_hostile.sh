#!/usr/bin/env bash
# Hostile GitHub answers: malformed JSON, wrong types, empty lists, a Link
# loop, endless paging, Link and redirects to another host, a stalled
# server, a huge body, bad status codes, tags that are not versions. Each
# ends as `unknown` with a class and a message naming the URL, and no
# record moves.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture
export TALLY_HTTP_TIMEOUT=2

# name  repo  class  message-part
cases=(
	"badjson    badjson    verify           not JSON"
	"object     object     verify           not an array"
	"wrongtype  wrongtype  verify           tag_name"
	"draftflag  draftflag  verify           boolean"
	"empty      empty      missing-version  lists no releases"
	"loop       loop       verify           points back"
	"endless    endless    too-large        more than 20 pages"
	"linkoff    linkoff    verify           another host"
	"offsite    offsite    verify           another host"
	"redirloop  redirloop  verify           redirects"
	"stall      stall      timeout          within 2 s"
	"huge       huge       too-large        larger than 8 MiB"
	"missing    missing    missing-version  404"
	"broken     broken     network          500"
	"nocache    nocache304 verify           304"
)
conf=""
versions=""
for c in "${cases[@]}"; do
	set -- $c
	conf+=$(printf '[component "%s"]\n\tfile = versions.txt\n\tupstream = github-release o/%s\n\tbuild = false\n' "$1" "$2")$'\n'
	versions+="$1=v1.0.0"$'\n'
done
conf+=$(printf '[component "hostile"]\n\tfile = versions.txt\n\tupstream = github-release o/hostile\n\tbuild = false\n')$'\n'
conf+=$(printf '[component "hostiletag"]\n\tfile = versions.txt\n\tupstream = github-tag o/wrongtype\n\tbuild = false\n')$'\n'
conf+=$(printf '[component "nul"]\n\tfile = versions.txt\n\tupstream = file-regex %s/files/nul\n\tmatch = mongo:([0-9.]+)\n\tbuild = false\n' "$GH")$'\n'
conf+=$(printf '[component "nofile"]\n\tfile = versions.txt\n\tupstream = file-regex %s/files/none.yml\n\tmatch = mongo:([0-9.]+)\n\tbuild = false\n' "$GH")$'\n'
VERSIONS="${versions}hostile=v1.0.0"$'\n'"hostiletag=v1.0.0"$'\n'"nul=1.0"$'\n'"nofile=1.0"
make_gh_repo "$conf"
n0=$(commits)
before=$(cat "$V/versions.txt")

t0=$(date +%s)
expect_exit "check exits 1" 1 tally check --json
took=$(( $(date +%s) - t0 ))
cp "$T/last.out" "$T/check.json"; cp "$T/last.err" "$T/check.err"
check "check --json valid" json_ok "$T/check.json" 1
check "the stall ended by the timeout (took ${took}s)" test "$took" -lt 30
for c in "${cases[@]}"; do
	set -- $c
	name=$1 repo=$2 cls=$3; shift 3
	part="$*"
	expect_eq "$name: state unknown" "$(check_field "$name" state "$T/check.json")" unknown
	expect_eq "$name: class $cls" "$(check_field "$name" class "$T/check.json")" "$cls"
	expect_eq "$name: upstream null" "$(check_field "$name" upstream "$T/check.json")" null
	msg=$(check_field "$name" message "$T/check.json")
	check "$name: message names the URL" grep -qF "$GH/repos/o/$repo/releases" <<<"$msg"
	check "$name: message says '$part'" grep -qF "$part" <<<"$msg"
done
expect_eq "hostile tags: the valid one is taken" "$(check_field hostile upstream "$T/check.json")" v1.0.1
for t in 'v9.9.9;touch /tmp/pwned' '$(reboot)' '../../etc/passwd'; do
	check "hostile tags: warning names '$t'" jq_ok "$T/check.json" --arg t "$t" 'any(.[]; .event == "error" and .component == "hostile" and (.message | contains($t)))'
done
expect_eq "github-tag with a number for name: class verify" "$(check_field hostiletag class "$T/check.json")" verify
expect_eq "file with a NUL byte: unknown" "$(check_field nul state "$T/check.json")" unknown
check "file with a NUL byte: message names the URL" grep -qF "$GH/files/nul" <<<"$(check_field nul message "$T/check.json")"
expect_eq "missing file: class missing-version" "$(check_field nofile class "$T/check.json")" missing-version
expect_eq "no record moved" "$(cat "$V/versions.txt")" "$before"
expect_eq "no commit" "$(commits)" "$n0"
check "nothing executed" test ! -e /tmp/pwned

expect_exit "run builds nothing" 1 tally run --json
check "run: no attempt for any unknown component" jq_ok "$T/last.out" '[.[] | select(.event == "attempt" and .component != "hostile")] | length == 0'
expect_eq "run: still no record moved (but hostile's v1.0.1)" \
	"$(grep -v '^hostile=' "$V/versions.txt")" "$(grep -v '^hostile=' <<<"$before")"
finish
