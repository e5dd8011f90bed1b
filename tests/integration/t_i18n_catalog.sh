#!/usr/bin/env bash
# The Chinese catalog stays complete as the code changes (SPEC section 16):
# xgettext over the sources (as scripts/i18n-update runs it) finds no
# message that po/zh_CN.po lacks, and msgfmt --check --statistics reports
# no untranslated or fuzzy entry. A string newly marked with _() and not
# translated fails here (then: bash scripts/i18n-update, translate, commit).
. "$(dirname "$0")/lib.sh"
cd "$TALLY_SRC"
# po/commands.c (the command table's help texts) is what the binary says now
"$TALLY_BIN" __msgids >"$T/commands.c"
check "po/commands.c is the command table's help texts (else run scripts/i18n-update)" cmp -s "$T/commands.c" po/commands.c
bash scripts/i18n-extract "$T/now.pot" "$TALLY_BIN" 2>/dev/null
check "xgettext finds the demo's narration" grep -q '^msgid "the daily check' "$T/now.pot"
check "  and the engine's messages (formats of tally_err_set, conf_fail_at, ...)" grep -q '^msgid "unknown key"$' "$T/now.pot"
check "  but not the formats of paths and keys" bash -c '! grep -q "^msgid \"component\.%s\.%s\"$" "$1"' _ "$T/now.pot"
check "xgettext finds the marked strings" test -s "$T/now.pot"
n=$(grep -c '^msgid ' "$T/now.pot")
check "  some eight hundred of them ($n)" test "$n" -gt 700
# every msgid of the sources (with its context) is in zh_CN.po, and no other
ids() { msgcat --no-wrap --sort-output "$1" 2>/dev/null | awk '
	/^msgctxt /{c=$0; next} /^msgid /{print c "|" $0; c=""}' | grep -v '|msgid ""$' | sort -u; }
ids "$T/now.pot" >"$T/ids.src"
ids po/zh_CN.po >"$T/ids.po"
absent=$(comm -23 "$T/ids.src" "$T/ids.po")
expect_eq "every message of the sources is in po/zh_CN.po" "$absent" ""
stale=$(comm -13 "$T/ids.src" "$T/ids.po")
expect_eq "  and po/zh_CN.po has none the sources lost (run scripts/i18n-update)" "$stale" ""
stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null po/zh_CN.po 2>&1)
check "msgfmt --check passes" bash -c 'LC_ALL=C msgfmt --check -o /dev/null po/zh_CN.po'
expect_eq "  every entry translated, none fuzzy ($stats)" \
	"$(echo "$stats" | grep -Ec 'untranslated|fuzzy')" 0
check "  the header names the plural forms of Chinese" grep -q '^"Plural-Forms: nplurals=1; plural=0;' po/zh_CN.po

# the check above can fail: a copy of the sources with a new message in a
# front end and one in the engine, neither in the catalog
mkdir -p "$T/src"
cp -r tui engine scripts "$T/src/"
printf 'static const char *x(void) { return _("a message nobody translated"); }\n' >>"$T/src/tui/batch.c"
printf 'static int y(struct tally_err *e) { return tally_err_set(e, TC_INPUT, "%%s: an engine message nobody translated", "x"); }\n' >>"$T/src/engine/holds.c"
bash "$T/src/scripts/i18n-extract" "$T/new.pot" "$TALLY_BIN" 2>/dev/null
ids "$T/new.pot" >"$T/ids.new"
expect_eq "new untranslated strings are caught (front end and engine)" "$(comm -23 "$T/ids.new" "$T/ids.po")" '|msgid "%s: an engine message nobody translated"
|msgid "a message nobody translated"'
# and an untranslated or fuzzy entry is caught by the statistics
sed '0,/^msgstr "[^"]/s/^msgstr "[^"].*"$/msgstr ""/' po/zh_CN.po >"$T/holey.po"
check "an untranslated entry is caught" bash -c 'LC_ALL=C msgfmt --statistics -o /dev/null "$1" 2>&1 | grep -q untranslated' _ "$T/holey.po"
finish
