#!/usr/bin/env bash
# issue 10, defect 6: a build that prints its environment while tally runs
# with GITHUB_TOKEN (and other secrets) set: none reaches the attempt log;
# the runner's variables and what tally.passEnv lists do.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0 v1.1.0
make_versions_repo
conf_set component.chat.build "env"
conf_set tally.passEnv MY_BUILD_SETTING
git config -f "$V/tally.conf" --add tally.passEnv 'MYPREFIX_*'
commit_versions "chat prints its environment"
export GITHUB_TOKEN=ghp_never_in_a_log_1234567890 TALLY_SECRET_TOKEN=tally_secret_abc
export MY_BUILD_SETTING=visible-setting MYPREFIX_ONE=prefixed OTHER_SETTING=not-listed
rc=0
tally --json run chat >"$T/run.json" 2>"$T/run.err" || rc=$?
check "the run ended (exit 0 or 1; env builds no image)" test "$rc" -le 1
log=$(jq -r 'select(.event == "attempt" and .component == "chat") | .log' "$T/run.json")
check "the attempt log exists" test -s "$log"
check "  the build ran (TALLY_COMPONENT=chat in it)" grep -qx 'TALLY_COMPONENT=chat' "$log"
check "  TALLY_VERSION is there" grep -qx 'TALLY_VERSION=v1.1.0' "$log"
check "  TALLY_IMAGE and TALLY_TAGS are there" bash -c 'grep -q "^TALLY_IMAGE=" "$1" && grep -q "^TALLY_TAGS=" "$1"' _ "$log"
check "  PATH and HOME are there" bash -c 'grep -q "^PATH=" "$1" && grep -q "^HOME=" "$1"' _ "$log"
check "  GITHUB_TOKEN's value is not" bash -c '! grep -rq ghp_never_in_a_log "$1"' _ "$(state_dir)"
check "  nor the name" bash -c '! grep -q "^GITHUB_TOKEN=" "$1"' _ "$log"
check "  TALLY_SECRET_TOKEN is not" bash -c '! grep -q tally_secret_abc "$1"' _ "$log"
check "  a variable nobody listed is not" bash -c '! grep -q "^OTHER_SETTING=" "$1"' _ "$log"
check "  GIT_AUTHOR_NAME (git only) is not" bash -c '! grep -q "^GIT_AUTHOR_NAME=" "$1"' _ "$log"
check "  tally.passEnv MY_BUILD_SETTING is" grep -qx 'MY_BUILD_SETTING=visible-setting' "$log"
check "  tally.passEnv MYPREFIX_* is" grep -qx 'MYPREFIX_ONE=prefixed' "$log"
git config -f "$V/tally.conf" --add tally.passEnv 'BAD-NAME'
expect_exit "a bad passEnv name is refused at load" 2 tally status
check "  naming the file and line" grep -q 'tally.conf:[0-9]*: tally.passEnv' "$T/last.err"
finish
