#!/usr/bin/env bash
# issue 10: one "\u0000" in a GitHub answer is valid JSON. A NUL in a
# release's name does not sink the answer; a tag name holding one is not a
# version (ignored with a warning, never cut short at the NUL).
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture
conf=$(printf '[component "rel"]\n\tfile = versions.txt\n\tupstream = github-release o/nulname\n\tbuild = false\n')$'\n'
conf+=$(printf '[component "tag"]\n\tfile = versions.txt\n\tupstream = github-tag o/nulname\n\tbuild = false\n')$'\n'
VERSIONS="rel=v1.0.0"$'\n'"tag=v1.0.0"
make_gh_repo "$conf"
expect_exit "check exits 0" 0 tally check --json
cp "$T/last.out" "$T/check.json"
check "check --json valid" json_ok "$T/check.json" 0
for c in rel tag; do
	expect_eq "$c: the answer is read (upstream v1.1.0, not v1.2.0)" "$(check_field $c upstream "$T/check.json")" v1.1.0
	check "$c: the NUL tag is warned about" jq_ok "$T/check.json" --arg c "$c" 'any(.[]; .event == "error" and .component == $c and (.message | contains("v1.2.0?evil")))'
done
finish
