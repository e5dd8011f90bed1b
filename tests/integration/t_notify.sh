#!/usr/bin/env bash
# tally.notify runs once after every attempt (shipped, failed) and every
# hold change, through the runner with its argv as written, with the event
# in TALLY_* variables; never for a dry run's plan; a failing or hanging
# notify command is logged and shown, and neither fails nor stalls the
# attempt or the record.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0 v1.0.1
make_versions_repo

# The notify command: writes its argv and TALLY_* environment to one file
# per call, named so that sorting the names gives the call order (calls may
# run at once).
N="$T/notified"
mkdir -p "$N"
cat >"$T/notify.sh" <<SH
#!/bin/sh
f="$N/\$(date +%s%N).\$\$.env"
{ for a in "\$@"; do echo "arg=\$a"; done; env | grep '^TALLY_' | sort; } >"\$f.tmp"
mv "\$f.tmp" "\$f"
echo "notified \$TALLY_EVENT \$TALLY_COMPONENT"
SH
chmod +x "$T/notify.sh"
conf_set tally.notify "$T/notify.sh first 'two words' {literal}"

# server's build fails the way the seed's did
cat >"$V/dockerfiles/build-server.sh" <<'SH'
#!/bin/sh
echo "STEP 2/4: RUN wget -q https://example.invalid/openim-server-$1.tar.gz"
echo "/bin/sh: 1: wget: command not found" >&2
echo "error building at STEP \"RUN wget\": exit status 127" >&2
exit 127
SH
chmod +x "$V/dockerfiles/build-server.sh"
conf_set component.server.build 'dockerfiles/build-server.sh {version} {ref}'
commit_versions "notify and a failing server build"

calls() { find "$N" -name '*.env' | wc -l | tr -d ' '; }
nth() { find "$N" -name '*.env' | sort | sed -n "$1p"; }
var() { case $1 in /*) f=$1 ;; *) f=$(nth "$1") ;; esac; sed -n "s/^$2=//p" "$f"; } # CALL NAME

# --- a failed attempt and a shipped one ---
expect_exit "run: server fails, chat ships" 1 tally run --json
cp "$T/last.out" "$T/run1.json"
expect_eq "one notification per attempt" "$(calls)" 2
fail_call=$(grep -l '^TALLY_COMPONENT=server$' "$N"/*.env)
ship_call=$(grep -l '^TALLY_COMPONENT=chat$' "$N"/*.env)
check "argv reaches the command word for word" test "$(sed -n 's/^arg=//p' "$fail_call" | paste -sd'|')" = "first|two words|{literal}"
expect_eq "failed: event" "$(var "$fail_call" TALLY_EVENT)" attempt
expect_eq "failed: result" "$(var "$fail_call" TALLY_RESULT)" failed
expect_eq "failed: version" "$(var "$fail_call" TALLY_VERSION)" v3.8.1
expect_eq "failed: previous" "$(var "$fail_call" TALLY_PREVIOUS)" v3.8.0
expect_eq "failed: action" "$(var "$fail_call" TALLY_ACTION)" ship
expect_eq "failed: class" "$(var "$fail_call" TALLY_CLASS)" recipe
expect_eq "failed: hint" "$(var "$fail_call" TALLY_HINT)" "fix the Dockerfile or build recipe; a recipe change re-runs it"
expect_eq "failed: evidence is the decisive line" "$(var "$fail_call" TALLY_EVIDENCE)" "/bin/sh: 1: wget: command not found"
att=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/run1.json")
expect_eq "failed: attempt id" "$(var "$fail_call" TALLY_ATTEMPT)" "$(jq -r .attempt <<<"$att")"
expect_eq "failed: log path" "$(var "$fail_call" TALLY_LOG)" "$(jq -r .log <<<"$att")"
expect_eq "failed: no digest" "$(var "$fail_call" TALLY_DIGEST)" ""
expect_eq "failed: no commit" "$(var "$fail_call" TALLY_COMMIT)" ""
expect_eq "shipped: result" "$(var "$ship_call" TALLY_RESULT)" shipped
expect_eq "shipped: version" "$(var "$ship_call" TALLY_VERSION)" v1.0.1
expect_eq "shipped: previous record" "$(var "$ship_call" TALLY_PREVIOUS)" v1.0.0
expect_eq "shipped: digest is the recorded one" "$(var "$ship_call" TALLY_DIGEST)" \
	"$(git -C "$V" log -1 --format=%B -- chat-versions.txt | sed -n 's/^Tally-Digest: //p')"
expect_eq "shipped: commit is the record commit" "$(var "$ship_call" TALLY_COMMIT)" \
	"$(git -C "$V" log -1 --format=%H -- chat-versions.txt)"
expect_eq "shipped: no class" "$(var "$ship_call" TALLY_CLASS)" ""
expect_eq "shipped: repo" "$(var "$ship_call" TALLY_REPO)" "$V"
check "notify output is in the state dir's notify.log" grep -q "notified attempt server" "$(state_dir)/logs/notify.log"
check "a good notification prints no warning" jq_ok "$T/run1.json" 'all(.[]; (.event == "error" and ((.message // "") | test("notify"))) | not)'

# --- a dry run's plan is not notified ---
expect_exit "dry run" 0 tally run --dry-run --json
expect_eq "no notification for a plan" "$(calls)" 2

# --- a hold change is notified ---
expect_exit "skip" 0 tally skip server v3.8.1 --reason "wget missing" --json
expect_eq "one notification for the skip" "$(calls)" 3
expect_eq "hold: event" "$(var 3 TALLY_EVENT)" hold
expect_eq "hold: result is the hold word" "$(var 3 TALLY_RESULT)" skip
expect_eq "hold: component" "$(var 3 TALLY_COMPONENT)" server
expect_eq "hold: version" "$(var 3 TALLY_VERSION)" v3.8.1
expect_eq "hold: reason" "$(var 3 TALLY_MESSAGE)" "wget missing"
expect_eq "hold: commit" "$(var 3 TALLY_COMMIT)" "$(git -C "$V" rev-parse HEAD)"
expect_exit "unskip" 0 tally unskip server v3.8.1
expect_eq "one notification for the unskip" "$(calls)" 4
expect_eq "unskip: result" "$(var 4 TALLY_RESULT)" unskip

# --- a failing notify command: logged and shown, the attempt ships ---
cat >"$V/dockerfiles/build-server.sh" <<'SH'
#!/bin/sh
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="$1" -t "$2" -f dockerfiles/Containerfile.server dockerfiles
SH
cat >"$T/notify-fail.sh" <<'SH'
#!/bin/sh
echo "mail: cannot connect to smtp.example.invalid" >&2
exit 3
SH
chmod +x "$T/notify-fail.sh"
conf_set tally.notify "$T/notify-fail.sh"
commit_versions "fix the build; a notify that fails"
expect_exit "run with a failing notify still ships and exits 0" 0 tally run server --json
cp "$T/last.out" "$T/run2.json"
expect_eq "record moved" "$(record_of server-versions.txt server)" v3.8.1
check "the failure is shown as a warning naming the command and its status" jq_ok "$T/run2.json" \
	'any(.[]; .event == "error" and .warning == true and (.message | test("notify-fail.sh exited with status 3")))'
expect_eq "summary counts the attempt ok" "$(tail -1 "$T/run2.json" | jq -r '.ok, .failed' | paste -sd' ')" "1 0"
check "its output is in notify.log" grep -q "cannot connect to smtp.example.invalid" "$(state_dir)/logs/notify.log"
expect_exit "no retry loop: the next run has nothing to do and notifies nothing" 0 tally run server --json
check "nothing notified when nothing ran" jq_ok "$T/last.out" 'all(.[]; .event != "error")'

# --- a hanging notify command: stopped at its limit, the record stands ---
cat >"$T/notify-hang.sh" <<SH
#!/bin/sh
echo \$\$ >"$T/hang.started"
exec sleep 300
SH
chmod +x "$T/notify-hang.sh"
conf_set tally.notify "$T/notify-hang.sh"
commit_versions "a notify that hangs"
git -C "$UP" tag v3.8.2
export TALLY_NOTIFY_TIMEOUT=2
expect_exit "run with a hanging notify ships and exits 0" 0 tally run server --json
unset TALLY_NOTIFY_TIMEOUT
cp "$T/last.out" "$T/run3.json"
expect_eq "record moved to v3.8.2" "$(record_of server-versions.txt server)" v3.8.2
check "the notify command did start" test -f "$T/hang.started"
check "the hang is shown as stopped at its limit" jq_ok "$T/run3.json" \
	'any(.[]; .event == "error" and .warning == true and (.message | test("ran past 2 s and was stopped")))'
check "the attempt event comes before the notify warning" jq_ok "$T/run3.json" \
	'(map(.event == "attempt") | index(true)) < (map(.event == "error") | index(true))'
check "no notify process is left" bash -c "! kill -0 $(cat "$T/hang.started") 2>/dev/null"
check "working tree clean" test -z "$(git -C "$V" status --porcelain)"

# --- the shipped examples: mail through sendmail -t, and a JSON webhook ---
# sendmail stands in for msmtp/postfix: it keeps what it was given
mkdir -p "$T/bin" "$T/mail"
cat >"$T/bin/sendmail" <<SH
#!/bin/sh
{ echo "args: \$*"; cat; } >"$T/mail/\$(date +%s%N)"
SH
chmod +x "$T/bin/sendmail"
export PATH="$T/bin:$PATH"
CTL_FAIL="$T/fail-build"
cat >"$V/dockerfiles/build-server.sh" <<SH
#!/bin/sh
if [ -e "$CTL_FAIL" ]; then
	echo "/bin/sh: 1: wget: command not found" >&2
	echo "error building at STEP \"RUN wget\": exit status 127" >&2
	exit 127
fi
exec buildah --storage-driver vfs build --isolation chroot -q --build-arg OPENIM_VERSION="\$1" -t "\$2" -f dockerfiles/Containerfile.server dockerfiles
SH
conf_set tally.notify "$TALLY_SRC/dist/notify/tally-notify-mail ops@example.com"
commit_versions "notify by mail; the build fails while $CTL_FAIL exists"
touch "$CTL_FAIL"
git -C "$UP" tag v3.8.3
expect_exit "a failed build with the mail example" 1 tally run server
mail=$(find "$T/mail" -type f | head -1)
check "one mail was sent" test "$(find "$T/mail" -type f | wc -l)" = 1 -a -n "$mail"
check "  through sendmail -t" grep -qx "args: -t" "$mail"
check "  to the address given" grep -qx "To: ops@example.com" "$mail"
check "  the subject names component, version, result and class" grep -Eq "^Subject: tally: server v3\.8\.3 failed \(recipe\) on " "$mail"
check "  the body has the decisive line" grep -qx "evidence:  /bin/sh: 1: wget: command not found" "$mail"
check "  and the hint" grep -qx "hint:      fix the Dockerfile or build recipe; a recipe change re-runs it" "$mail"
rm -f "$CTL_FAIL"
expect_exit "the retry ships" 0 tally retry server
check "  a shipped attempt is not mailed by default" test "$(find "$T/mail" -type f | wc -l)" = 1

# the webhook: a JSON receiver on loopback
WH_PORT=$(free_port)
python3 - "$WH_PORT" "$T/hooks" >"$T/hook.log" 2>&1 <<'PY' &
import http.server, os, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(os.path.join(out, "%d.json" % time.time_ns()), "wb") as f:
            f.write(body)
        open(os.path.join(out, "type"), "w").write(self.headers.get("Content-Type", ""))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$WH_PORT/" && break; sleep 0.1; done
conf_set tally.notify "$TALLY_SRC/dist/notify/tally-notify-webhook http://127.0.0.1:$WH_PORT/hook"
commit_versions "notify by webhook"
expect_exit "skip with the webhook example" 0 tally skip server v3.8.9 --reason 'bad "base" image'
hook=$(find "$T/hooks" -name '*.json' | head -1)
check "one webhook call" test -n "$hook"
expect_eq "  sent as JSON" "$(cat "$T/hooks/type")" application/json
expect_eq "  the event's fields, lowercased" "$(jq -c '[.event, .result, .component, .version, .message]' "$hook")" \
	'["hold","skip","server","v3.8.9","bad \"base\" image"]'
expect_eq "  the hold commit" "$(jq -r .commit "$hook")" "$(git -C "$V" rev-parse HEAD)"
finish
