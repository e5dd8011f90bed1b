#!/usr/bin/env bash
# An authenticated HTTPS registry, as the field has it (SPEC sections 4-6,
# 9): a real docker-registry on 127.0.0.1 with TLS from a CA made here
# (openssl) and htpasswd basic auth, trusted through registry.certDir; the
# login is `buildah login` into the DEFAULT auth file
# ($XDG_RUNTIME_DIR/containers/auth.json, no registry.authFile). Then run,
# rebuild, reset, verify and check (registry-tags) pass with
# registry.insecure = false; without the CA they fail with class tls and its
# hint; a wrong password fails with class auth naming the auth file; a
# credHelpers entry served by docker-credential-test works and a failing
# helper is class auth naming it. A second registry takes bearer tokens
# (JWTs signed by a token server here) and is used through the same login
# file. Finally the password and tokens appear nowhere tally writes.
. "$(dirname "$0")/lib.sh"

PASS="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PASS2="tk-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# --- a CA and a server certificate for 127.0.0.1 ---------------------------
P="$T/pki"
mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.crt" -days 2 \
	-subj "/CN=tally test CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$P/srv.key" -out "$P/srv.csr" \
	-subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$P/ext"
openssl x509 -req -in "$P/srv.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-out "$P/srv.crt" -days 2 -extfile "$P/ext" 2>/dev/null
check "server certificate verifies against the CA" openssl verify -CAfile "$P/ca.crt" "$P/srv.crt"
# registry 1 also wants a client certificate (certs.d's NAME.cert + NAME.key)
openssl req -newkey rsa:2048 -nodes -keyout "$P/client.key" -out "$P/client.csr" \
	-subj "/CN=tally test client" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$P/client.ext"
openssl x509 -req -in "$P/client.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-out "$P/client.cert" -days 2 -extfile "$P/client.ext" 2>/dev/null

# --- registry 1: TLS + htpasswd ----------------------------------------------
REG_PORT=$(free_port)
REG="127.0.0.1:$REG_PORT"
mkdir -p "$T/registry"
htpasswd -Bbn alice "$PASS" >"$T/registry/htpasswd" 2>/dev/null
cat >"$T/registry/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/registry/data
  delete:
    enabled: true
http:
  addr: $REG
  tls:
    certificate: $P/srv.crt
    key: $P/srv.key
    clientcas:
      - $P/ca.crt
auth:
  htpasswd:
    realm: tally-test
    path: $T/registry/htpasswd
CONF
docker-registry serve "$T/registry/config.yml" >"$T/registry/log" 2>&1 &
PIDS+=($!)
CLIENT=(--cert "$P/client.cert" --key "$P/client.key")
for _ in $(seq 100); do
	curl -s -o /dev/null --cacert "$P/ca.crt" "${CLIENT[@]}" "https://$REG/v2/" && break
	sleep 0.1
done
expect_eq "registry wants credentials" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" "${CLIENT[@]}" "https://$REG/v2/")" 401
expect_eq "registry wants a client certificate" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" "https://$REG/v2/")" 000

CERTS="$T/certs.d"
mkdir -p "$CERTS/$REG" "$T/no-certs.d"
cp "$P/ca.crt" "$CERTS/$REG/ca.crt"
cp "$P/client.cert" "$P/client.key" "$CERTS/$REG/"

# credentials for curl in a file, not in argv
printf 'machine 127.0.0.1 login alice password %s\n' "$PASS" >"$T/netrc"
chmod 600 "$T/netrc"

# push_tags BASE REPO TAG...: a tiny OCI image under every TAG through the API
push_tags() {
	local base=$1 repo=$2; shift 2
	local cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
	local cd; cd="sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
	local c=(curl -fsS --cacert "$P/ca.crt" "${CLIENT[@]}" "${CURL_AUTH[@]}")
	local loc
	loc=$("${c[@]}" -X POST -D - -o /dev/null "$base/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //Ip')
	case $loc in /*) loc="$base$loc" ;; esac
	case $loc in *\?*) loc="$loc&digest=$cd" ;; *) loc="$loc?digest=$cd" ;; esac
	printf '%s' "$cfg" | "${c[@]}" -X PUT -H 'Content-Type: application/octet-stream' --data-binary @- "$loc" >/dev/null
	local m
	m=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}' "$cd" "${#cfg}")
	for t in "$@"; do
		printf '%s' "$m" | "${c[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary @- "$base/v2/$repo/manifests/$t" >/dev/null
	done
}
CURL_AUTH=(--netrc-file "$T/netrc")
push_tags "https://$REG" up/server v1.0.0 v1.1.0 latest

# --- registry 2: TLS + bearer tokens (JWTs from a token server here) ------------
openssl req -newkey rsa:2048 -nodes -keyout "$P/sign.key" -out "$P/sign.csr" \
	-subj "/CN=tally test token signer" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$P/sign.ext"
openssl x509 -req -in "$P/sign.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-out "$P/sign.crt" -days 2 -extfile "$P/sign.ext" 2>/dev/null
printf '%s' "$PASS" >"$T/token.password"
IDTOK="idt-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$IDTOK" >"$T/token.idtok"
jq -n --arg p "$P" --arg t "$T" '{port: 0, tls_cert: "\($p)/srv.crt", tls_key: "\($p)/srv.key",
	sign_cert: "\($p)/sign.crt", sign_key: "\($p)/sign.key", issuer: "tally-test-issuer",
	service: "tally-test-registry", user: "alice", password_file: "\($t)/token.password",
	identity_token_file: "\($t)/token.idtok", issued_file: "\($t)/tokens.issued",
	log_file: "\($t)/token.log"}' >"$T/token.json"
# Debian's python3 has python3-jwt (scripts/bootstrap); a python3 of its own
# earlier on PATH may not
PY=python3
python3 -c 'import jwt, cryptography' 2>/dev/null || PY=/usr/bin/python3
"$PY" "$TALLY_SRC/tests/fixtures/registry/jwt_token_server.py" "$T/token.json" >"$T/token.port" 2>"$T/token.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/token.port" ] && break; sleep 0.1; done
if [ ! -s "$T/token.port" ]; then
	cat "$T/token.err" >&2
	not_ok "the token server did not start"
	finish
fi
TOKEN_URL="https://127.0.0.1:$(head -1 "$T/token.port")/token"
REG2_PORT=$(free_port)
REG2="127.0.0.1:$REG2_PORT"
mkdir -p "$T/registry2"
cat >"$T/registry2/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/registry2/data
  delete:
    enabled: true
http:
  addr: $REG2
  tls:
    certificate: $P/srv.crt
    key: $P/srv.key
auth:
  token:
    realm: $TOKEN_URL
    service: tally-test-registry
    issuer: tally-test-issuer
    rootcertbundle: $P/ca.crt
CONF
docker-registry serve "$T/registry2/config.yml" >"$T/registry2/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	curl -s -o /dev/null --cacert "$P/ca.crt" "https://$REG2/v2/" && break
	sleep 0.1
done
hdr=$(curl -s -D - -o /dev/null --cacert "$P/ca.crt" "https://$REG2/v2/" | tr -d '\r' | sed -n 's/^Www-Authenticate: //Ip')
check "registry 2 sends a bearer challenge" grep -q "^Bearer realm=\"$TOKEN_URL\"" <<<"$hdr"
mkdir -p "$CERTS/$REG2"
cp "$P/ca.crt" "$CERTS/$REG2/ca.crt"
tok=$(curl -fsS --cacert "$P/ca.crt" --netrc-file "$T/netrc" \
	"$TOKEN_URL?service=tally-test-registry&scope=repository:up/mongo:pull,push" | jq -r .token)
CURL_AUTH=(-H "Authorization: Bearer $tok")
push_tags "https://$REG2" up/mongo 7.0.4 7.0.5 7.2.0 latest
check "registry 2 took a push with a JWT from the token server" test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" "${CURL_AUTH[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$REG2/v2/up/mongo/manifests/7.0.5")" = 200

# --- buildah login into the default auth file ---------------------------------
AUTH="$XDG_RUNTIME_DIR/containers/auth.json"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
printf '%s\n' "$PASS" | buildah login --cert-dir "$CERTS/$REG" -u alice --password-stdin "$REG" >"$T/login.out" 2>&1
check "buildah login wrote the default auth file" test -s "$AUTH"
printf '%s\n' "$PASS" | buildah login --cert-dir "$CERTS/$REG2" -u alice --password-stdin "$REG2" >>"$T/login.out" 2>&1
check "the auth file has an entry for the registry" jq_ok "$AUTH" --arg r "$REG" '.[0].auths[$r].auth'

# --- the versions repo ----------------------------------------------------------
V="$T/versions"
git init -q "$V"
mkdir -p "$V/dockerfiles"
echo "payload" >"$V/dockerfiles/payload.txt"
printf 'FROM scratch\nCOPY payload.txt /payload.txt\n' >"$V/dockerfiles/Containerfile"
printf 'server=v1.0.0\n' >"$V/server-versions.txt"
printf 'mongodb=7.0.4\n' >"$V/base-versions.txt"
cat >"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/test
	certDir = $CERTS
[component "server"]
	file = server-versions.txt
	upstream = registry-tags $REG/up/server
	include = ^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+\$
	image = {prefix}/server
	tag = {version}
	tag = {version}-anolis
	floatingTag = latest
	build = buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile dockerfiles
	cleanup = env AUTHFILE={authfile} CERTDIR={certdir} printenv REGISTRY_AUTH_FILE
	recipe = dockerfiles/Containerfile
[component "mongodb"]
	file = base-versions.txt
	upstream = registry-tags $REG2/up/mongo
	include = ^7\\\\.0\\\\.[0-9]+\$
	image = $REG2/test/mongodb
	tag = {version}-anolis
	build = buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile dockerfiles
	recipe = dockerfiles/Containerfile
CONF
git -C "$V" add -A
git -C "$V" commit -q -m seed

expect_exit "check (registry-tags over TLS with the login) exits 0" 0 tally check --json
check "check sees v1.1.0" jq_ok "$T/last.out" 'any(.[]; .component == "server" and (tostring | test("v1.1.0")))'

expect_exit "run ships v1.1.0 with registry.insecure = false" 0 tally run --json
cp "$T/last.out" "$T/run1.json"
expect_eq "record moved to v1.1.0" "$(record_of server-versions.txt server)" v1.1.0
expect_eq "bearer registry: record moved to 7.0.5" "$(record_of base-versions.txt mongodb)" 7.0.5
check "tally's requests got tokens with the login's credentials" test "$(curl -fsS --cacert "$P/ca.crt" "${TOKEN_URL%/token}/stats" | jq .basic)" -gt 2
log1=$(jq -r -s 'map(select(.event == "attempt" and .component == "server")) | last | .log' "$T/run1.json")
check "push command got --cert-dir with registry.certDir/HOST" grep -q -- "--cert-dir $CERTS/$REG " "$log1"
check "cleanup got {authfile} = the default auth file, {certdir}" grep -q "AUTHFILE=$AUTH CERTDIR=$CERTS/$REG printenv" "$log1"
check "cleanup got \$REGISTRY_AUTH_FILE = the default auth file" grep -qx "$AUTH" "$log1"
check "second tag put and read back through tally's own client" grep -q "verify: $REG/test/server:v1.1.0-anolis" "$log1"

expect_exit "verify exits 0" 0 tally verify
expect_exit "rebuild exits 0" 0 tally rebuild server mongodb -y
expect_exit "reset to v1.0.0 exits 0 (ships it first)" 0 tally reset server v1.0.0 --no-pin -y
expect_eq "record back at v1.0.0" "$(record_of server-versions.txt server)" v1.0.0
expect_exit "verify after reset exits 0" 0 tally verify

# --- without the CA: class tls --------------------------------------------------
# a component with a manual upstream: its build runs, and buildah's push
# meets the untrusted certificate
printf 'chat=v1.0.0\n' >"$V/chat-versions.txt"
cat >>"$V/tally.conf" <<CONF
[component "chat"]
	file = chat-versions.txt
	upstream = manual
	image = {prefix}/chat
	build = buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile dockerfiles
CONF
git -C "$V" add -A
git -C "$V" commit -q -m "chat"
git config -f "$V/tally.conf" registry.certDir "$T/no-certs.d"
git -C "$V" commit -q -am "no CA"
expect_exit "check without the CA exits 1" 1 tally check server --json
check "check: class tls" jq_ok "$T/last.out" 'any(.[]; .component == "server" and .class == "tls")'
check "check: readable message naming the CA place" jq_ok "$T/last.out" "any(.[]; .component == \"server\" and (tostring | test(\"not trusted.*no-certs.d/$REG/ca.crt\")))"
expect_exit "verify without the CA exits 1 (unreadable, not a mismatch)" 1 tally verify server
check "  verify says the certificate is not trusted" grep -q "not trusted" "$T/last.out" "$T/last.err"
expect_exit "run chat without the CA exits 1" 1 tally run chat --version v2.0.0 --json
cp "$T/last.out" "$T/runchat.json"
check "run: push failed" jq_ok "$T/last.out" 'any(.[]; .event == "stage" and .component == "chat" and .stage == "push" and .result == "failed")'
check "run: class tls, not internal" jq_ok "$T/last.out" 'any(.[]; .event == "attempt" and .component == "chat" and .class == "tls")'
check "run: the tls hint names certs.d" jq_ok "$T/last.out" 'any(.[]; .event == "attempt" and .class == "tls" and (.hint | test("certs.d/HOST/ca.crt")))'
expect_eq "record unchanged" "$(record_of chat-versions.txt chat)" v1.0.0
tally status --json >"$T/status.json" || true
check "tls is not transient: no retry time" jq_ok "$T/status.json" 'any(.[]; .component == "chat" and .class == "tls" and .retry_at == null)'
check "check's tls is not transient either" jq_ok "$T/status.json" 'any(.[]; .component == "server" and .class == "tls" and .retry_at == null)'
git config -f "$V/tally.conf" registry.certDir "$CERTS"
git -C "$V" commit -q -am "CA back"

# --- a wrong password: class auth naming the auth file ---------------------------
cp "$AUTH" "$T/auth.good"
jq --arg r "$REG" --arg r2 "$REG2" --arg a "$(printf 'alice:wrong-%s' "$PASS" | base64 -w0)" \
	'.auths[$r].auth = $a | .auths[$r2].auth = $a' "$T/auth.good" >"$AUTH"
expect_exit "check with a wrong password exits 1" 1 tally check --json
for c in server mongodb; do
	check "wrong password ($c): class auth" jq_ok "$T/last.out" "any(.[]; .component == \"$c\" and .class == \"auth\")"
	check "wrong password ($c): message names the auth file" jq_ok "$T/last.out" "any(.[]; .component == \"$c\" and .class == \"auth\" and (tostring | contains(\"$AUTH\")))"
done
cp "$T/auth.good" "$AUTH"

# --- an identity token (OAuth2 refresh token) for the bearer registry ----------
jq --arg r2 "$REG2" --arg it "$IDTOK" '.auths[$r2] = {auth: ("<token>:" | @base64), identitytoken: $it}' \
	"$T/auth.good" >"$AUTH"
r0=$(curl -fsS --cacert "$P/ca.crt" "${TOKEN_URL%/token}/stats" | jq .refresh)
expect_exit "check with an identity token exits 0" 0 tally check mongodb
expect_exit "rebuild with an identity token (buildah and tally) exits 0" 0 tally rebuild mongodb -y
r1=$(curl -fsS --cacert "$P/ca.crt" "${TOKEN_URL%/token}/stats" | jq .refresh)
check "the identity token was exchanged at the realm (POST refresh_token)" test "$r1" -gt "$r0"
check "tally's own client posted it too" grep -q "POST grant=refresh_token.*client=tally" "$T/token.log"
cp "$T/auth.good" "$AUTH"

# --- credHelpers: docker-credential-test on PATH --------------------------------
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-test" <<EOF
#!/bin/sh
# the docker-credential-helpers protocol: "get", the server on stdin
[ "\$1" = get ] || exit 1
read -r host
echo "\$host \$*" >>"$T/helper.calls"
if [ "\$host" = "$REG" ]; then
	printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$host" "\$(cat "$T/helper.secret")"
	exit 0
fi
echo "credentials not found in native keychain"
exit 1
EOF
chmod +x "$T/bin/docker-credential-test"
cat >"$T/bin/docker-credential-broken" <<'EOF'
#!/bin/sh
echo "the keyring is locked" >&2
exit 3
EOF
chmod +x "$T/bin/docker-credential-broken"
printf '%s' "$PASS" >"$T/helper.secret"
export PATH="$T/bin:$PATH"
jq -n --arg r "$REG" '{auths: {}, credHelpers: {($r): "test"}}' >"$AUTH"
expect_exit "check with credHelpers exits 0" 0 tally check server
check "the helper was asked for the registry" grep -q "^$REG get" "$T/helper.calls"
expect_exit "run server v1.1.0 with credHelpers (buildah and tally) exits 0" 0 tally run server --version v1.1.0
expect_eq "record v1.1.0 through the helper" "$(record_of server-versions.txt server)" v1.1.0
jq -n --arg r "$REG" '{auths: {}, credHelpers: {($r): "broken"}}' >"$AUTH"
expect_exit "check with a failing helper exits 1" 1 tally check server --json
check "failing helper: class auth naming the helper" jq_ok "$T/last.out" 'any(.[]; .component == "server" and .class == "auth" and (tostring | contains("docker-credential-broken")))'
cp "$T/auth.good" "$AUTH"

# --- a custom registry.authFile reaches the push too ----------------------------
mv "$AUTH" "$T/custom-auth.json"
git config -f "$V/tally.conf" registry.authFile "$T/custom-auth.json"
git -C "$V" commit -q -am "custom auth file"
expect_exit "rebuild with a custom registry.authFile (no default file) exits 0" 0 tally rebuild server --json -y
logc=$(jq -r -s 'map(select(.event == "attempt" and .component == "server")) | last | .log' "$T/last.out")
check "the push and cleanup got \$REGISTRY_AUTH_FILE = registry.authFile" grep -qx "$T/custom-auth.json" "$logc"
mv "$T/custom-auth.json" "$AUTH"
expect_exit "with registry.authFile pointing at a missing file, check fails" 1 tally check server --json
check "  class auth, naming the missing file" jq_ok "$T/last.out" "any(.[]; .component == \"server\" and .class == \"auth\" and (tostring | contains(\"$T/custom-auth.json (it does not exist)\")))"
git config -f "$V/tally.conf" --unset registry.authFile
git -C "$V" commit -q -am "default auth file again"

# --- secrets never stored --------------------------------------------------------
SD=$(state_dir)
check "state dir exists" test -d "$SD"
scan() { # WHAT SECRET: no file under the state dir, no log, no git object has it
	local hits
	hits=$( { grep -rlF -- "$2" "$SD" "$V/.git/tally.lock" 2>/dev/null || true;
		  git -C "$V" log -p --all | grep -cF -- "$2" || true; } | grep -v '^0$' || true)
	expect_eq "$1 appears nowhere tally writes" "$hits" ""
}
scan "the password" "$PASS"
scan "the identity token" "$IDTOK"
ntok=0
while read -r t; do
	ntok=$((ntok + 1))
	hits=$(grep -rlF -- "$t" "$(state_dir)" 2>/dev/null || true; git -C "$V" log -p --all | grep -F -- "$t" || true)
	[ -z "$hits" ] || not_ok "an issued token is stored: $hits"
done <"$T/tokens.issued"
check "tokens were issued (and none is stored)" test "$ntok" -gt 0
scan "the password in base64" "$(printf 'alice:%s' "$PASS" | base64 -w0)"

finish
