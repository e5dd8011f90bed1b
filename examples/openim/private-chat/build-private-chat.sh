#!/bin/sh
# build-private-chat.sh TOKEN_FILE VERSION REF REPO_URL
#
# The seed's build-private-chat.yml as a tally build: clones the private
# chat repository at tag VERSION with the token tally wrote to TOKEN_FILE
# ({secret:gh}), then builds REF from it. The token travels in git's
# environment (GIT_CONFIG_*), never in an argv, and tally masks it in the
# output. buildah reads STORAGE_DRIVER / BUILDAH_ISOLATION from the
# environment as usual.
set -eu
token_file=$1 version=$2 ref=$3 url=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
auth=$(printf 'x-access-token:%s' "$(cat "$token_file")" | base64 | tr -d '\n')
GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \
	GIT_CONFIG_VALUE_0="Authorization: Basic $auth" \
	git clone -q --depth 1 --branch "$version" "$url" "$work/src"
unset auth
echo "cloned $version: $(git -C "$work/src" rev-parse --short HEAD)"
exec buildah build --build-arg OPENIM_CHAT_VERSION="$version" -t "$ref" \
	-f "$here/Dockerfile.openim-chat-private" "$work/src"
