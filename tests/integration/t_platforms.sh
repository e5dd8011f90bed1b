#!/usr/bin/env bash
# t_platforms.sh - several platforms (SPEC section 14): platform =
# linux/amd64 and linux/arm64 with FROM scratch images built with buildah
# build --platform (no RUN, so no emulation). The registry holds one OCI
# index whose children have the right platforms; every version tag and the
# floating tag give the index digest; the record's digest is the index's;
# skopeo inspect --raw agrees; a platform failing leaves the version tags
# untouched and records nothing; verify catches a child deleted.
. "$(dirname "$0")/lib.sh"
jqe() { jq -e "$@" >/dev/null; }
start_registry
make_upstream v1.0.0
V="$T/versions"
git init -q "$V"
mkdir -p "$V/app"
echo payload >"$V/app/payload.txt"
printf 'FROM scratch\nCOPY payload.txt /payload.txt\n' >"$V/app/Containerfile"
cat >"$V/app/build.sh" <<'SH'
#!/bin/sh
# fails for one platform when the file fail-ARCH exists beside it
[ -e "$(dirname "$0")/fail-$2" ] && { echo "build for $2 broke"; exit 1; }
exec buildah --storage-driver vfs build --isolation chroot -q --platform "$1" -t "$3" -f app/Containerfile app
SH
chmod +x "$V/app/build.sh"
: >"$V/app-versions.txt"
cat >"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/test
	insecure = true
[component "app"]
	file = app-versions.txt
	upstream = git-tags $UP
	tag = {version}
	tag = {version}-multi
	floatingTag = latest
	platform = linux/amd64
	platform = linux/arm64
	build = app/build.sh {platform} {arch} {ref}
	cleanup = buildah --storage-driver vfs rmi {ref}
	recipe = app/Containerfile
	recipe = app/build.sh
CONF
git -C "$V" add -A
git -C "$V" commit -q -m seed

expect_exit "a run ships both platforms" 0 tally run
expect_eq "the record" "$(record_of app-versions.txt app)" v1.0.0
for arch in amd64 arm64; do
	check "cleanup ran for the $arch image" sh -c "! buildah --storage-driver vfs inspect --type image $REG/test/app:v1.0.0-$arch >/dev/null 2>&1"
done
check "the cleanup log names each platform's ref" grep -q "cleanup: buildah --storage-driver vfs rmi $REG/test/app:v1.0.0-arm64" "$(tally_log_dir)"/app/*.log
ID=$(manifest_digest test/app v1.0.0)
expect_eq "the record's digest is the index's" "$(commit_trailer HEAD Tally-Digest)" "$ID"
expect_eq "the second version tag" "$(manifest_digest test/app v1.0.0-multi)" "$ID"
expect_eq "the floating tag" "$(manifest_digest test/app latest)" "$ID"
curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$REG/v2/test/app/manifests/v1.0.0" >"$T/index.json"
check "an OCI index" jqe '.mediaType == "application/vnd.oci.image.index.v1+json" and (.manifests | length) == 2' "$T/index.json"
check "children with their platforms" jqe '[.manifests[].platform | "\(.os)/\(.architecture)"] == ["linux/amd64", "linux/arm64"]' "$T/index.json"
AMD=$(jq -r '.manifests[0].digest' "$T/index.json")
ARM=$(jq -r '.manifests[1].digest' "$T/index.json")
git -C "$V" log -1 --format=%B | sed -n 's/^Tally-Platform: //p' >"$T/trailers"
printf 'linux/amd64 %s\nlinux/arm64 %s\n' "$AMD" "$ARM" >"$T/want"
check "one Tally-Platform trailer per child" diff "$T/want" "$T/trailers"
# each child's image config says its architecture
for pair in "amd64 $AMD" "arm64 $ARM"; do
	set -- $pair
	cfg=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/app/manifests/$2" | jq -r .config.digest)
	expect_eq "the $1 child's config" "$(curl -fsS "http://$REG/v2/test/app/blobs/$cfg" | jq -r .architecture)" "$1"
done
skopeo inspect --tls-verify=false --raw "docker://$REG/test/app:v1.0.0" >"$T/skopeo.json"
expect_eq "skopeo inspect --raw of the tag hashes to the recorded digest" \
	"sha256:$(sha256sum <"$T/skopeo.json" | cut -d' ' -f1)" "$(commit_trailer HEAD Tally-Digest)"
check "skopeo sees the same children" jqe --arg a "$AMD" --arg b "$ARM" '[.manifests[].digest] == [$a, $b]' "$T/skopeo.json"
expect_exit "verify passes" 0 tally verify
tally status >"$T/st.txt"
check "plain status lists the platforms" grep -q '^  platforms linux/amd64 linux/arm64$' "$T/st.txt"
tally status --json >"$T/st.json"
check "status --json: platforms" jq_ok "$T/st.json" '.[0].platforms == ["linux/amd64", "linux/arm64"]'

# adopt: a record made before tally whose image is that index
cat >>"$V/tally.conf" <<CONF
[component "pre"]
	file = pre-versions.txt
	upstream = manual
	image = {prefix}/app
	platform = linux/amd64
	platform = linux/arm64
	build = app/build.sh {platform} {arch} {ref}
CONF
echo pre=v1.0.0 >"$V/pre-versions.txt"
git -C "$V" add -A
git -C "$V" commit -q -m "pre, recorded by hand"
expect_exit "adopt an index" 0 tally adopt pre
expect_eq "adopt commits the index digest" "$(commit_trailer HEAD Tally-Digest)" "$ID"
git -C "$V" log -1 --format=%B | sed -n 's/^Tally-Platform: //p' >"$T/trailers2"
check "adopt: one Tally-Platform trailer per child" diff "$T/want" "$T/trailers2"

# one platform's build fails: version tags untouched, nothing recorded
touch "$V/app/fail-arm64"
git -C "$UP" tag v1.1.0
n0=$(commits)
expect_exit "a failing platform fails the attempt" 1 tally run
expect_eq "nothing recorded" "$(commits)" "$n0"
expect_eq "the record stays" "$(record_of app-versions.txt app)" v1.0.0
expect_eq "no version tag for v1.1.0" "$(manifest_status v1.1.0 app)" 404
expect_eq "no index under the second tag" "$(manifest_status v1.1.0-multi app)" 404
expect_eq "the floating tag stays" "$(manifest_digest test/app latest)" "$ID"
rm "$V/app/fail-arm64"

# verify catches a child deleted from the registry
curl -fsS -X DELETE "http://$REG/v2/test/app/manifests/$ARM" -o /dev/null
expect_exit "verify: a deleted child is a mismatch" 4 tally verify
check "verify names the child" grep -q "$ARM (linux/arm64)" "$T/last.out" "$T/last.err"

# a platform value that is not os/arch
git config -f "$V/tally.conf" --add component.app.platform amd64
git -C "$V" commit -q -am "bad platform"
expect_exit "a bad platform is a configuration error" 2 tally status
check "it names the key" grep -q "component.app.platform.*'amd64' is not os/arch" "$T/last.err"
finish
