#!/usr/bin/env bash
# adopt (SPEC section 7): records made before tally (committed by plain git,
# images pushed by hand with buildah to a real loopback registry) get their
# evidence in a commit with no file change, so verify --strict passes and
# reset can return to them without building. A tag missing from the
# registry, or tags that disagree, write nothing and exit 1.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
head_rev() { git -C "$V" rev-parse HEAD; }
MT_HDRS=(-H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')

# build_push NAME TAG [LABEL]: buildah build and push by hand
build_push() {
	buildah --storage-driver vfs build --isolation chroot -q --label "nonce=${3:-0}" \
		--build-arg OPENIM_VERSION=v3.8.0 -t "$REG/test/$1:$2" \
		-f "$V/dockerfiles/Containerfile.server" "$V/dockerfiles" >/dev/null 2>&1
	buildah --storage-driver vfs push -q --tls-verify=false "$REG/test/$1:$2" >/dev/null 2>&1
}
# put_tag NAME FROM TO: the manifest of FROM put under TO (same digest)
put_tag() {
	curl -s "${MT_HDRS[@]}" -D "$T/mf.hdr" -o "$T/mf.json" "http://$REG/v2/test/$1/manifests/$2"
	local mt
	mt=$(tr -d '\r' <"$T/mf.hdr" | sed -n 's/^Content-Type: //Ip')
	curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $mt" --data-binary @"$T/mf.json" \
		"http://$REG/v2/test/$1/manifests/$3"
}

# server=v3.8.0 is the seed's record (plain git); its image pushed by hand
build_push openim-server v3.8.0-anolis
expect_eq "put v3.8.0 by hand" "$(put_tag openim-server v3.8.0-anolis v3.8.0)" 201
expect_eq "put latest-anolis by hand" "$(put_tag openim-server v3.8.0-anolis latest-anolis)" 201
D0=$(manifest_digest test/openim-server v3.8.0-anolis)
check "the hand-pushed digest is known" test -n "$D0"

expect_exit "verify --strict on the hand-made record exits 4 before adopt" 4 tally verify server --strict

# --- a tag missing: nothing written, exit 1 ------------------------------------
h0=$(head_rev)
expect_exit "adopt chat (v1.0.0 never pushed) exits 1" 1 tally adopt chat --json
check "  the error names the missing tag" jq_ok "$T/last.out" \
	'any(.[]; .event == "error" and .component == "chat" and (.message | test("openim-chat:v1.0.0")) and (.message | test("nothing written")))'
check "  --json: valid, summary exit 1" json_ok "$T/last.out" 1
check "  no record event" jq_ok "$T/last.out" 'all(.[]; .event != "record")'
expect_eq "  HEAD did not move" "$(head_rev)" "$h0"
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"

# --- adopt server -------------------------------------------------------------
expect_exit "adopt server exits 0" 0 tally adopt server --json
cp "$T/last.out" "$T/adopt.json"
check "  --json: valid, summary exit 0" json_ok "$T/adopt.json" 0
check "  a record event with action adopt, the commit and the digest" jq_ok "$T/adopt.json" \
	--arg h "$(head_rev)" --arg d "$D0" \
	'any(.[]; .event == "record" and .component == "server" and .version == "v3.8.0" and .action == "adopt" and .commit == $h and .digest == $d)'
expect_eq "  one new commit on top of the seed" "$(git -C "$V" rev-parse HEAD~1)" "$h0"
expect_eq "  the commit changes no file" "$(files_of HEAD)" ""
expect_eq "  subject" "$(git -C "$V" log -1 --format=%s)" "adopt server v3.8.0"
expect_eq "  Tally-Action: adopt" "$(commit_trailer HEAD Tally-Action)" adopt
expect_eq "  Tally-Component: server" "$(commit_trailer HEAD Tally-Component)" server
expect_eq "  Tally-Version: v3.8.0" "$(commit_trailer HEAD Tally-Version)" v3.8.0
expect_eq "  Tally-Digest is the hand-pushed digest" "$(commit_trailer HEAD Tally-Digest)" "$D0"
expect_eq "  one Tally-Image per version tag" "$(commit_trailer HEAD Tally-Image | tr '\n' ' ')" \
	"$REG/test/openim-server:v3.8.0-anolis $REG/test/openim-server:v3.8.0 "
check "  Tally-Recipe is a fingerprint" test "$(commit_trailer HEAD Tally-Recipe | wc -c)" -gt 20
expect_eq "  no Tally-Previous (the record did not move)" "$(commit_trailer HEAD Tally-Previous)" ""
expect_eq "  the record is unchanged" "$(record_of server-versions.txt server)" v3.8.0
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_exit "verify --strict server exits 0 after adopt" 0 tally verify server --strict --json
check "  with no warning" jq_ok "$T/last.out" \
	'any(.[]; .event == "verify" and .component == "server" and .ok == true and (.warnings | length) == 0)'
expect_exit "history shows the adopt commit" 0 tally history server
check "  subject in history" grep -q 'adopt server v3.8.0' "$T/last.out"

h1=$(head_rev)
expect_exit "adopt server again exits 0" 0 tally adopt server
check "  and says it is already adopted" grep -q 'already adopted' "$T/last.out"
expect_eq "  nothing written" "$(head_rev)" "$h1"
expect_exit "adopt --all exits 1 (chat still missing; server already adopted)" 1 tally adopt --all
expect_eq "  nothing written" "$(head_rev)" "$h1"

# --- tags that disagree ---------------------------------------------------------
git config -f "$V/tally.conf" --add component.chat.tag "{version}"
git config -f "$V/tally.conf" --add component.chat.tag "{version}-anolis"
commit_versions "chat has two version tags"
build_push openim-chat v1.0.0 one
build_push openim-chat v1.0.0-anolis two
h2=$(head_rev)
expect_exit "adopt chat with tags on two digests exits 1" 1 tally adopt chat --json
check "  the error says they disagree" jq_ok "$T/last.out" \
	'any(.[]; .event == "error" and .component == "chat" and (.message | test("reads back as")))'
expect_eq "  HEAD did not move" "$(head_rev)" "$h2"

# --- through a running engine ----------------------------------------------------
expect_eq "put v1.0.0 under v1.0.0-anolis by hand" "$(put_tag openim-chat v1.0.0 v1.0.0-anolis)" 201
expect_exit "pause the schedule (serve would ship v3.8.1 at start)" 0 tally pause
check "serve starts" serve_bg serve
expect_exit "adopt --all is handed to the running engine and exits 0" 0 tally adopt --all --json
check "  a record event for chat with action adopt" jq_ok "$T/last.out" \
	'any(.[]; .event == "record" and .component == "chat" and .action == "adopt")'
check "  a note that server is already adopted" jq_ok "$T/last.out" \
	'any(.[]; .event == "note" and .component == "server" and (.message | test("already adopted")))'
expect_eq "  one new commit" "$(git -C "$V" rev-parse HEAD~1)" "$h2"
check "  the engine's log shows it took the command" grep -q 'adopt' "$T/serve.log"
expect_exit "stop the engine" 0 "$TALLY_BIN" -C "$V" --no-tui stop
expect_exit "verify --strict (all) exits 0" 0 tally verify --strict
expect_exit "resume the schedule" 0 tally resume

# --- reset returns to an adopted version without building --------------------------
expect_exit "run ships server v3.8.1" 0 tally run server
expect_eq "  record v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
h3=$(head_rev)
expect_exit "adopt a tally-made record exits 0" 0 tally adopt server
check "  and says tally recorded it" grep -q 'recorded by tally' "$T/last.out"
expect_eq "  nothing written" "$(head_rev)" "$h3"
expect_exit "reset server v3.8.0 --no-build exits 0 (the adopted digest still reads back)" 0 \
	tally reset server v3.8.0 --no-build -y --json
cp "$T/last.out" "$T/reset.json"
expect_eq "  record v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "  Tally-Digest is the adopted digest" "$(commit_trailer HEAD Tally-Digest)" "$D0"
check "  no build stage ran" jq_ok "$T/reset.json" 'all(.[]; .event != "stage" or .stage != "build")'
expect_exit "verify --strict after the reset exits 0" 0 tally verify server --strict

finish
