#!/usr/bin/env bash
# The seed's first scenario: a new upstream version builds, pushes, is read
# back and recorded in one commit that carries the trailers.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1 v3.9.0-rc.1 'not-a-version;x'
mkdir -p "$T/chat-upstream" && git init -q "$T/chat-upstream" && git -C "$T/chat-upstream" commit -q --allow-empty -m i && git -C "$T/chat-upstream" tag v1.0.0
make_versions_repo
before=$(git -C "$V" rev-list --count HEAD)

expect_exit "run ships the new version" 0 tally run
cat "$T/last.out"
expect_eq "server record moved to v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "chat record untouched (no candidate)" "$(record_of chat-versions.txt chat)" v1.0.0
expect_eq "exactly one new commit" "$(git -C "$V" rev-list --count HEAD)" $((before + 1))
msg=$(git -C "$V" log -1 --format=%B)
expect_eq "subject" "$(git -C "$V" log -1 --format=%s)" "record server v3.8.1"
check "trailer Tally-Action" grep -qx 'Tally-Action: ship' <<<"$msg"
check "trailer Tally-Previous" grep -qx 'Tally-Previous: v3.8.0' <<<"$msg"
check "trailer Tally-Image for every tag" test "$(grep -c "^Tally-Image: $REG/test/openim-server:v3.8.1" <<<"$msg")" = 2
digest=$(sed -n 's/^Tally-Digest: //p' <<<"$msg")
check "digest trailer well formed" grep -Eq '^sha256:[0-9a-f]{64}$' <<<"$digest"
for tag in v3.8.1-anolis v3.8.1 latest-anolis; do
	got=$(curl -sSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/test/openim-server/manifests/$tag" 2>/dev/null | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
	expect_eq "registry tag $tag has the recorded digest" "${got:-<none>}" "${digest:-<no digest recorded>}"
done
expect_eq "commit holds only the files it changed" "$(git -C "$V" show --name-only --format= HEAD | sort | tr '\n' ' ')" ".env server-versions.txt "
expect_eq "recordAlso written" "$(grep OPENIM_SERVER_VERSION "$V/.env")" "OPENIM_SERVER_VERSION=v3.8.1-anolis"
check "comment line kept byte for byte" grep -qx '# versions shipped by tally' "$V/server-versions.txt"
check "working tree clean after record" test -z "$(git -C "$V" status --porcelain)"
check "hostile tag was warned about" grep -q "not a valid version" "$T/last.err"
check "nothing executed from the hostile tag" test ! -e "$T/x"

expect_exit "second run has nothing to do" 0 tally run
expect_eq "still one record commit" "$(git -C "$V" rev-list --count HEAD)" $((before + 1))

expect_exit "status --json" 0 tally status --json
line=$(grep '"component":"server"' "$T/last.out")
expect_eq "status state" "$(jq -r .state <<<"$line")" current
expect_eq "status built" "$(jq -r .built <<<"$line")" v3.8.1
expect_eq "summary is the last line" "$(tail -1 "$T/last.out" | jq -r .event)" summary

expect_exit "history shows the record" 0 tally history server
check "history names the commit" grep -q "record server v3.8.1" "$T/last.out"
expect_exit "logs of the last attempt" 0 tally logs server
check "log has the build command" grep -q "build: buildah" "$T/last.out"
finish
