#!/usr/bin/env bash
# tally init (SPEC section 7) on a repository shaped like the seed's:
# versions.txt / server-versions.txt / base-versions.txt (with a web=null
# left by a failed jq lookup), an .env with comments, Anolis Dockerfiles
# with ARG *_VERSION, and a GitHub workflow that curls the releases API and
# a compose file. The printed config is one tally accepts: status loads it,
# check against a local GitHub fixture exits 0 or 1 (never 2). --write
# writes it, never over an existing tally.conf, and commits nothing.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture
export TALLY_GITHUB_API=$GH

V="$T/seed"
git init -q "$V"
mkdir -p "$V/dockerfiles/anolis" "$V/.github/workflows"
printf 'server=v3.8.1\n' >"$V/server-versions.txt"
printf '# OpenIM chat and web\nchat=v1.8.4-patch.2\nweb=null\n' >"$V/versions.txt"
printf 'mongodb=7.0.4\nredis=7.2.4\n' >"$V/base-versions.txt"
cat >"$V/.env" <<'ENV'
# OpenIM on Anolis OS; the CI updates the versions
COMPOSE_PROJECT_NAME=openim

# server and chat
OPENIM_SERVER_VERSION=v3.8.1-anolis
OPENIM_CHAT_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/openim-chat:v1.8.4-patch.2-anolis # chat image
MONGO_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/mongodb:7.0.4-anolis
REDIS_IMAGE="registry.cn-hangzhou.aliyuncs.com/openim/redis:7.2.4-anolis"
DATA_DIR=./data
ENV
cat >"$V/dockerfiles/anolis/Dockerfile.openim-server" <<'DF'
FROM registry.cn-hangzhou.aliyuncs.com/openim/anolis:8.8
ARG OPENIM_VERSION
COPY --chown=0:0 scripts/start.sh /start.sh
RUN wget -q https://github.com/openimsdk/open-im-server/archive/${OPENIM_VERSION}.tar.gz
DF
cat >"$V/dockerfiles/anolis/Dockerfile.openim-chat" <<'DF'
FROM registry.cn-hangzhou.aliyuncs.com/openim/anolis:8.8
ARG BUILD_DATE
ARG OPENIM_CHAT_VERSION
RUN wget -q https://github.com/openimsdk/chat/archive/${OPENIM_CHAT_VERSION}.tar.gz
DF
cat >"$V/dockerfiles/anolis/Dockerfile.mongodb" <<'DF'
FROM registry.cn-hangzhou.aliyuncs.com/openim/anolis:8.8
ARG MONGO_VERSION=7.0.4
COPY mongod.conf /etc/mongod.conf
RUN echo mongodb ${MONGO_VERSION}
DF
cat >"$V/dockerfiles/anolis/Dockerfile.redis" <<'DF'
FROM registry.cn-hangzhou.aliyuncs.com/openim/anolis:8.8
ARG REDIS_VERSION=7.2.4
DF
mkdir -p "$V/scripts"
echo 'exec openim-server' >"$V/scripts/start.sh"
echo 'net: {}' >"$V/dockerfiles/anolis/mongod.conf"
cat >"$V/.github/workflows/check-versions.yml" <<YML
name: check versions
on:
  schedule:
    - cron: "0 2 * * *"
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: server
        run: |
          v=\$(curl -s https://api.github.com/repos/openimsdk/open-im-server/releases/latest | jq -r .tag_name)
          echo "server=\$v" > server-versions.txt
      - name: chat
        run: |
          v=\$(curl -s https://api.github.com/repos/openimsdk/chat/releases/latest | jq -r .tag_name)
          sed -i "s/^chat=.*/chat=\$v/" versions.txt
      - name: bases
        run: |
          curl -s $GH/files/docker-compose.yml -o compose.yml
          grep 'image: mongo:' compose.yml
          grep 'image: redis:' compose.yml
      - name: push
        run: |
          buildah push registry.cn-hangzhou.aliyuncs.com/openim/openim-server:\$v-anolis
          buildah push registry.cn-hangzhou.aliyuncs.com/openim/openim-chat:\$v-anolis
YML
git -C "$V" add -A
git -C "$V" commit -q -m "the seed's layout, before tally"
h0=$(git -C "$V" rev-parse HEAD)

expect_exit "tally init exits 0" 0 tally init
cp "$T/last.out" "$T/init.conf"
sed 's/^/    | /' "$T/init.conf"
expect_eq "  commits nothing" "$(git -C "$V" rev-parse HEAD)" "$h0"
check "  writes nothing" test -z "$(git -C "$V" status --porcelain)"
cfg() { git config -f "$T/init.conf" "$@" 2>/dev/null; }
expect_eq "  components: one per valid key, web=null left out" \
	"$(git config -f "$T/init.conf" --name-only --get-regexp '^component\..*\.file$' | sed 's/^component\.//; s/\.file$//' | tr '\n' ' ')" \
	"server chat mongodb redis "
check "  a note names web=null with its file and line" grep -q '^# note: versions.txt:3: web=null is not a version' "$T/init.conf"
expect_eq "  server: file" "$(cfg component.server.file)" server-versions.txt
expect_eq "  server: upstream from the workflow" "$(cfg component.server.upstream)" "github-release openimsdk/open-im-server"
check "  server: the upstream is marked check this" grep -q 'upstream = github-release openimsdk/open-im-server *# check this' "$T/init.conf"
expect_eq "  chat: upstream" "$(cfg component.chat.upstream)" "github-release openimsdk/chat"
expect_eq "  chat: file" "$(cfg component.chat.file)" versions.txt
expect_eq "  server: recipe" "$(cfg component.server.recipe)" dockerfiles/anolis/Dockerfile.openim-server
expect_eq "  chat: recipe" "$(cfg component.chat.recipe)" dockerfiles/anolis/Dockerfile.openim-chat
expect_eq "  mongodb: recipe" "$(cfg component.mongodb.recipe)" dockerfiles/anolis/Dockerfile.mongodb
check "  server: build passes the ARG" grep -q 'build = buildah build --build-arg OPENIM_VERSION={version} -t {ref} -f dockerfiles/anolis/Dockerfile.openim-server' "$T/init.conf"
check "  server: the build context is the root (its COPY source is there)" grep -q 'Dockerfile.openim-server \. ' "$T/init.conf"
check "  mongodb: the build context is the recipe's directory (its COPY source is there)" \
	grep -q 'Dockerfile.mongodb dockerfiles/anolis ' "$T/init.conf"
check "  chat: build passes the chat ARG (not BUILD_DATE)" grep -q 'build-arg OPENIM_CHAT_VERSION={version}' "$T/init.conf"
expect_eq "  server: recordAlso into .env" "$(cfg component.server.recordAlso)" ".env:OPENIM_SERVER_VERSION={version}-anolis"
expect_eq "  chat: recordAlso keeps the image and suffix" "$(cfg component.chat.recordAlso)" \
	".env:OPENIM_CHAT_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/openim-chat:{version}-anolis"
expect_eq "  redis: recordAlso from a quoted value" "$(cfg component.redis.recordAlso)" \
	".env:REDIS_IMAGE=registry.cn-hangzhou.aliyuncs.com/openim/redis:{version}-anolis"
expect_eq "  server: tag from the .env value" "$(cfg component.server.tag)" "{version}-anolis"
expect_eq "  registry prefix from the workflow and .env" "$(cfg registry.prefix)" registry.cn-hangzhou.aliyuncs.com/openim
expect_eq "  server: image under the prefix" "$(cfg component.server.image)" "{prefix}/openim-server"
expect_eq "  mongodb: file-regex on the compose file the workflow reads" "$(cfg component.mongodb.upstream)" \
	"file-regex $GH/files/docker-compose.yml"
expect_eq "  mongodb: match names the compose image" "$(cfg component.mongodb.match)" "image: mongo:([0-9.]+)"
expect_eq "  redis: match" "$(cfg component.redis.match)" "image: redis:([0-9.]+)"
check "  server: include follows the record's shape" test "$(cfg component.server.include)" = '^v[0-9]+\.[0-9]+\.[0-9]+'

# the config tally accepts: loaded from the working tree as tally.conf
cp "$T/init.conf" "$V/tally.conf"
expect_exit "status loads the printed config (exit 0)" 0 tally status --json
check "  four status lines in config order" jq_ok "$T/last.out" \
	'[.[] | select(.event == "status") | .component] == ["server", "chat", "mongodb", "redis"]'
got=0
tally check --json >"$T/check.json" 2>"$T/check.err" || got=$?
case $got in 0 | 1) ok "check exits $got (0 or 1, never 2)" ;; *)
	not_ok "check exits $got"
	cat "$T/check.err" >&2 ;;
esac
expect_eq "  mongodb's upstream is read from the compose fixture" \
	"$(jq -r 'select(.event == "check" and .component == "mongodb") | .upstream' "$T/check.json")" 7.0.4
check "  server's GitHub upstream was asked of the fixture" \
	test "$(gh_count '.path | startswith("/repos/openimsdk/open-im-server/releases")')" -ge 1
rm "$V/tally.conf"

# --write
expect_exit "init --write exits 0" 0 tally init --write
check "  wrote tally.conf" cmp -s "$V/tally.conf" "$T/init.conf"
expect_eq "  committed nothing" "$(git -C "$V" rev-parse HEAD)" "$h0"
expect_eq "  only tally.conf is new" "$(git -C "$V" status --porcelain)" "?? tally.conf"
echo "# mine" >>"$V/tally.conf"
cp "$V/tally.conf" "$T/mine.conf"
expect_exit "init --write refuses to overwrite (exit 2)" 2 tally init --write
check "  says so" grep -q 'never overwrites' "$T/last.err"
check "  tally.conf is untouched" cmp -s "$V/tally.conf" "$T/mine.conf"

# a repo with nothing to go on
git init -q "$T/empty"
expect_exit "init in a repo with no commit exits 2" 2 "$TALLY_BIN" -C "$T/empty" --no-tui init
git -C "$T/empty" commit -q --allow-empty -m empty
expect_exit "init in a repo with no version file exits 2" 2 "$TALLY_BIN" -C "$T/empty" --no-tui init
check "  and says what it looked for" grep -q 'no version file' "$T/last.err"
finish
