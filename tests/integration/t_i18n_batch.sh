#!/usr/bin/env bash
# Batch output in Simplified Chinese (SPEC section 16): under
# LANG=zh_CN.UTF-8 the plain lines, the status table (aligned by display
# width: a CJK character is two columns), the hints, the CLI's input
# errors, the engine's messages (a tally.conf error, a refusal: the
# catalog's translation of the engine's format with its values) and the
# tally.conf reference are Chinese; --json is byte-identical to the English run but for
# times and ids; commit subjects, trailers and the attempt logs stay
# English; LANGUAGE=zh_CN:en falls back to English for a message the
# catalog lacks.
. "$(dirname "$0")/lib.sh"
if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8'; then
	echo "not ok - the zh_CN.UTF-8 locale is missing (bash scripts/bootstrap generates it)"
	exit 1
fi
unset LC_ALL LC_MESSAGES LANGUAGE
export LANG=C
zh() { LANG=zh_CN.UTF-8 "$TALLY_BIN" -C "$V" --no-tui "$@"; }
en() { LC_ALL=C "$TALLY_BIN" -C "$V" --no-tui "$@"; }
# display columns of the text before the first PATTERN on the line
col_of() { LC_ALL=C.UTF-8 python3 -c '
import sys, unicodedata
line, pat = sys.argv[1], sys.argv[2]
i = line.find(pat)
print(-1 if i < 0 else sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:i]))' "$1" "$2"; }
# what varies between two runs: times, attempt ids, durations, state dirs
mask() { sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME/g' \
	-e 's/[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9]+/ATTEMPT/g' -e 's/"seconds": ?[0-9.e+-]+/"seconds":S/g' \
	-e "s#$T/s[AB]#STATE#g"; }
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build

# --- plain output ---------------------------------------------------------------
expect_exit "setup: check (both components current)" 0 en -q check
expect_exit "zh: status" 0 zh status
out=$(cat "$T/last.out")
head=$(sed -n 1p <<<"$out")
row=$(grep '^server ' <<<"$out")
check "  the headings are Chinese" grep -q '^组件 .*已记录 .*上游 .*已构建 .*状态 .*上次 .*下次运行$' "$T/last.out"
check "  the state word is Chinese" grep -q '^server .* 最新 ' "$T/last.out"
expect_eq "  RECORDED lines up with its column (display width)" "$(col_of "$row" v3.8.0)" "$(col_of "$head" 已记录)"
expect_eq "  STATE lines up with its column" "$(col_of "$row" 最新)" "$(col_of "$head" 状态)"
expect_eq "  NEXT RUN lines up with its column" "$(col_of "$row" 12-)" "$(col_of "$head" 下次运行)"
expect_exit "en: status" 0 en status
check "  the same in the C locale is English" grep -q '^COMPONENT .*STATE .*NEXT RUN$' "$T/last.out"

git -C "$UP" tag v3.8.1
touch "$CTL/fail-v3.8.1"
expect_exit "zh: run with a failing build exits 1" 1 zh run
check "  the stage line is Chinese" grep -q '^server v3\.8\.1：构建 失败（[0-9.]* 秒）$' "$T/last.out"
check "  the attempt line is Chinese" grep -q '^server v3\.8\.1：失败$' "$T/last.out"
# the engine's message (English in JSON and the ledger) is shown through
# the catalog's translation of its format, with the engine's values in it
want=$(printf "$(zh_tr '%s exited with status %d')" build 127)
check "  the catalog translates the engine's format" test "$want" != "build exited with status 127"
check "  the class stays its name, the engine's message is Chinese" grep -qxF "  recipe：$want" "$T/last.out"
check "  the hint comes from the class table, in Chinese" grep -q '^  提示：修改 Dockerfile 或构建配方；配方改动后会重新运行$' "$T/last.out"
check "  the summary counts in Chinese" grep -q '^1 个成功，1 个失败$' "$T/last.out"
log=$(sed -n 's/^  日志：//p' "$T/last.out")
check "  the attempt's log file exists" test -s "$log"
check "  and it stays English (no CJK character)" bash -c '! LC_ALL=C.UTF-8 grep -qP "[\x{3000}-\x{9fff}\x{ff00}-\x{ffef}]" "$1"' _ "$log"

# --- input errors -----------------------------------------------------------------
expect_exit "zh: an unknown option is a usage error" 2 zh status --bogus
expect_eq "  said in Chinese" "$(cat "$T/last.err")" "tally：未知选项 '--bogus'
请试试 'tally --help'"
expect_exit "zh: a mistyped command" 2 zh statu
expect_eq "  gets its did-you-mean in Chinese" "$(sed -n 1p "$T/last.err")" "tally：未知命令 'statu'；您是不是要用 'status'？"
expect_exit "en: the same in English" 2 en statu
expect_eq "  in English" "$(sed -n 1p "$T/last.err")" "tally: unknown command 'statu'; did you mean 'status'?"

# --- the engine's errors: configuration, refusals, nested messages -----------------------
git clone -q "$V" "$T/bad"
sed -i '/^\[component "server"\]/a\	colour = red' "$T/bad/tally.conf"
git -C "$T/bad" commit -qam "a key tally does not know"
line=$(grep -n 'colour = red' "$T/bad/tally.conf" | cut -d: -f1)
expect_exit "zh: a tally.conf with an unknown key is an input error" 2 env LANG=zh_CN.UTF-8 "$TALLY_BIN" -C "$T/bad" --no-tui status
expect_eq "  file:line: key: kept, the message Chinese" "$(cat "$T/last.err")" \
	"tally: $T/bad/tally.conf:$line: component.server.colour: $(zh_tr 'unknown key')"
expect_exit "en: the same in English" 2 env LC_ALL=C "$TALLY_BIN" -C "$T/bad" --no-tui status
expect_eq "  in English" "$(cat "$T/last.err")" "tally: $T/bad/tally.conf:$line: component.server.colour: unknown key"
LC_ALL=C "$TALLY_BIN" -C "$T/bad" --no-tui --json status >"$T/en.json" 2>/dev/null || true
LANG=zh_CN.UTF-8 "$TALLY_BIN" -C "$T/bad" --no-tui --json status >"$T/zh.json" 2>/dev/null || true
check "  --json: the error event" jq_ok "$T/en.json" 'map(select(.event=="error" and (.message|test("unknown key$")))) | length == 1'
expect_eq "  byte-identical in zh_CN and C" "$(cat "$T/zh.json")" "$(cat "$T/en.json")"
# a refusal whose translation puts the values in its own order
expect_exit "zh: rebuild of an older version is refused" 2 zh rebuild server --version v3.7.0
want=$(printf "$(zh_tr '%s %s is older than the record %s (use reset)')" server v3.7.0 v3.8.0)
expect_eq "  in Chinese with the engine's values" "$(cat "$T/last.err")" "tally: $want"
expect_exit "en: the same refusal" 2 en rebuild server --version v3.7.0
expect_eq "  in English" "$(cat "$T/last.err")" "tally: server v3.7.0 is older than the record v3.8.0 (use reset)"

# --- the tally.conf reference: Chinese for people, the man page English ---------------
expect_exit "zh: help config" 0 zh help config
want=$(zh_tr 'Attempts that may run at once.')
check "  a key's help comes from the catalog" test "$want" != 'Attempts that may run at once.'
check "  and is shown under its key" bash -c 'grep -A2 -x "  tally.parallelBuilds" "$1" | grep -qxF "      $2"' _ "$T/last.out" "$want"
check "  the key names stay as they are" grep -q '^  component.<n>.floatingTag  ' "$T/last.out"
wide=$(LC_ALL=C.UTF-8 python3 -c '
import sys, unicodedata
w = lambda l: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l)
print(sum(1 for l in open(sys.argv[1], encoding="utf-8") if w(l.rstrip("\n")) > 79))' "$T/last.out")
expect_eq "  every line within 79 display columns" "$wide" 0
expect_exit "zh: help config --man" 0 zh help config --man
check "  the man page stays English (docs/tally.conf.5 as committed)" cmp -s "$T/last.out" "$TALLY_SRC/docs/tally.conf.5"

# --- zsh completion's descriptions, generated in the locale ----------------------------
expect_exit "zh: completion zsh" 0 zh completion zsh
want=$(zh_tr 'one line per component: recorded, upstream, built, state; no network')
check "  status is described in Chinese" grep -qF "'status:$want'" "$T/last.out"
expect_exit "en: completion zsh" 0 en completion zsh
check "  and in English in the C locale" grep -qF "'status:one line per component\\: recorded, upstream, built, state; no network'" "$T/last.out"

# --- JSON is the same in every language -----------------------------------------------
for cmd in "status" "check" "run --dry-run" "attempts server"; do
	# shellcheck disable=SC2086
	en --json $cmd >"$T/en.json" 2>"$T/en.err" || true
	# shellcheck disable=SC2086
	zh --json $cmd >"$T/zh.json" 2>"$T/zh.err" || true
	check "--json $cmd: some lines" test -s "$T/en.json"
	expect_eq "  byte-identical in zh_CN and C but for times and ids" "$(mask <"$T/zh.json")" "$(mask <"$T/en.json")"
done
# the texts of libc and libgit2 inside an engine's message stay English too
# (strerror under LANG=zh_CN would be Chinese: the process's LC_MESSAGES
# stays C, only tally's own lookups use the locale)
LC_ALL=C "$TALLY_BIN" -C "$T/no-such-repo" --no-tui --json status >"$T/en.json" 2>/dev/null || true
LANG=zh_CN.UTF-8 "$TALLY_BIN" -C "$T/no-such-repo" --no-tui --json status >"$T/zh.json" 2>/dev/null || true
check "--json on a missing repo: libc's text in the message" grep -q 'No such file or directory' "$T/en.json"
expect_eq "  byte-identical in zh_CN and C" "$(cat "$T/zh.json")" "$(cat "$T/en.json")"
# a failing run, from the same state in both languages (a state dir each)
en --state-dir "$T/sA" --json run >"$T/en.json" 2>/dev/null || true
zh --state-dir "$T/sB" --json run >"$T/zh.json" 2>/dev/null || true
check "--json run (failing): an attempt line with its hint" jq_ok "$T/en.json" 'map(select(.event=="attempt" and .result=="failed" and (.hint|test("Dockerfile")))) | length == 1'
expect_eq "  byte-identical in zh_CN and C but for times and ids" "$(mask <"$T/zh.json")" "$(mask <"$T/en.json")"

# --- what git reads stays English ---------------------------------------------------------
rm -f "$CTL/fail-v3.8.1"
expect_exit "zh: retry ships v3.8.1" 0 zh retry server
check "  the plain line is Chinese" grep -q '^server v3\.8\.1：已发布 sha256:' "$T/last.out"
check "  the record line too" grep -q '^server v3\.8\.1：已记录于 [0-9a-f]\{12\}（原为 v3\.8\.0）$' "$T/last.out"
msg=$(git -C "$V" log -1 --format=%B)
check "  the commit's subject and trailers are English" bash -c '! grep -qP "[^\x00-\x7f]" <<<"$1" && grep -q "^Tally-Version: v3.8.1$" <<<"$1"' _ "$msg"

# --- LANGUAGE=zh_CN:en: a message the catalog lacks falls back to English -------------------
mkdir -p "$T/locale/zh_CN/LC_MESSAGES"
LC_ALL=C.UTF-8 msggrep --no-wrap -v -K -F -e "unknown option '%s'" -e "one line per component" \
	"$TALLY_SRC/po/zh_CN.po" -o "$T/less.po"
msgfmt -o "$T/locale/zh_CN/LC_MESSAGES/tally.mo" "$T/less.po"
fallback() { LANGUAGE=zh_CN:en LANG=zh_CN.UTF-8 TALLY_LOCALEDIR="$T/locale" "$TALLY_BIN" -C "$V" --no-tui "$@"; }
expect_exit "LANGUAGE=zh_CN:en, a catalog without one message" 2 fallback status --bogus
expect_eq "  that message is English inside the Chinese frame" "$(cat "$T/last.err")" "tally：unknown option '--bogus'
请试试 'tally --help'"
expect_exit "zh: a command's help" 0 zh help status
expect_eq "  is Chinese (the command table's text through po/commands.c)" "$(sed -n 2p "$T/last.out")" "  每个组件一行：已记录、上游、已构建、状态；不访问网络"
expect_exit "  the same with a catalog that lacks its text" 0 fallback help status
expect_eq "  the frame is Chinese, the text English" "$(sed -n 1p "$T/last.out")" "用法：tally status"
check "  the text falls back to English" grep -q 'one line per component' "$T/last.out"
expect_exit "LANGUAGE=en: English even under LANG=zh_CN.UTF-8" 0 env LANGUAGE=en LANG=zh_CN.UTF-8 "$TALLY_BIN" -C "$V" --no-tui status
check "  English headings" grep -q '^COMPONENT ' "$T/last.out"

# --- the demo's narration (scripts/demo: say and note through eval_gettext) ---------------
check "scripts/demo narrates through gettext.sh's eval_gettext" grep -q '^say() { .*eval_gettext "\$1"' "$TALLY_SRC/scripts/demo"
got=$(LANG=zh_CN.UTF-8 TEXTDOMAIN=tally TEXTDOMAINDIR="$(dirname "$TALLY_BIN")/locale" \
	bash -c '. gettext.sh; D=/demo; eval_gettext "done. demo directory: \$D"')
expect_eq "  a narration line in Chinese, its variable filled in after translation" "$got" "完成。演示目录：/demo"
finish
