#!/usr/bin/env bash
# examples/openim/private-chat: the seed's private chat build as tally does
# it - the build clones a private repository (a bare repo served over
# smart HTTP with basic auth on loopback stands in for GitHub) with a token
# tally hands it as a build secret, and builds the image from the checkout.
# The token is never in argv, the log or the state; a wrong token fails
# the build and records nothing.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo

# the private repository, with a release tag
PRIV="$T/private/chat-private.git"
git init -q "$T/private-src"
echo "private chat sources" >"$T/private-src/README"
git -C "$T/private-src" add README
git -C "$T/private-src" commit -q -m "chat v1.8.4"
git -C "$T/private-src" tag v1.8.4
mkdir -p "$T/private"
git clone -q --bare "$T/private-src" "$PRIV"
TOKEN="ghp_pr1vateCh4tT0ken9"
python3 "$TALLY_SRC/tests/fixtures/githttp/server.py" --root "$T/private" --password "$TOKEN" \
	>"$T/githttp.port" 2>"$T/githttp.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/githttp.port" ] && break; sleep 0.1; done
GPORT=$(cat "$T/githttp.port")
check "the private repository refuses a clone without the token" \
	bash -c "! GIT_TERMINAL_PROMPT=0 git ls-remote http://127.0.0.1:$GPORT/chat-private.git >/dev/null 2>&1"

# the example's files, as a user would copy them into the versions repo
mkdir -p "$V/examples/openim"
cp -r "$TALLY_SRC/examples/openim/private-chat" "$V/examples/openim/"
cat "$TALLY_SRC/examples/openim/private-chat/tally.conf" >>"$V/tally.conf"
conf_set component.chat-private.upstream "git-tags $PRIV"
build=$(git config -f "$V/tally.conf" component.chat-private.build)
conf_set component.chat-private.build "${build% *} http://127.0.0.1:$GPORT/chat-private.git"
commit_versions "the private chat component from examples/openim/private-chat"

export CHAT_REPO_TOKEN="$TOKEN"
expect_exit "run ships the private chat image" 0 tally run chat-private --json
cp "$T/last.out" "$T/run.json"
expect_eq "recorded" "$(record_of versions.txt chat-private)" v1.8.4
log=$(jq -r 'select(.event == "attempt") | .log' "$T/run.json")
check "the build cloned the tag" grep -q "^cloned v1.8.4: " "$log"
check "the git server served the authenticated clone" \
	test "$(curl -s "http://127.0.0.1:$GPORT/_stats" | jq .served)" -gt 0
check "the image holds the private checkout" \
	bash -c "skopeo inspect --tls-verify=false docker://$REG/test/openim-chat-private:v1.8.4-anolis | jq -e '.Labels[\"org.opencontainers.image.version\"] == \"v1.8.4\"' >/dev/null"
leaks() { grep -rlF -e "$TOKEN" -e "$(printf 'x-access-token:%s' "$TOKEN" | base64 | tr -d '\n')" "$@" 2>/dev/null; }
check "no copy of the token (or its base64) in the state dir" test -z "$(leaks "$(state_dir)")"
check "  nor in the batch output" test -z "$(leaks "$T/run.json")"
check "  nor in git history" test -z "$(git -C "$V" log -p --all | grep -F "$TOKEN")"

# a wrong token: the clone is refused, nothing recorded
git -C "$T/private-src" tag v1.8.5
git -C "$T/private-src" push -q "$PRIV" v1.8.5
export CHAT_REPO_TOKEN="ghp_wr0ng"
expect_exit "a wrong token fails the build" 1 tally run chat-private --json
expect_eq "  class recipe (the build failed)" "$(jq -r 'select(.event == "attempt") | .class' "$T/last.out")" recipe
expect_eq "  record unchanged" "$(record_of versions.txt chat-private)" v1.8.4
check "  the git server refused it" test "$(curl -s "http://127.0.0.1:$GPORT/_stats" | jq .denied)" -gt 0
finish
