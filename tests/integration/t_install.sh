#!/usr/bin/env bash
# cmake --install into a temporary prefix (SPEC section 8, packaging): the
# binary runs, finds the installed themes relative to itself, the man pages
# render, the completions parse, the systemd units point at the installed
# binary and pass systemd-analyze verify.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
BUILD=$(dirname "$TALLY_BIN")
P="$T/prefix"
expect_exit "cmake --install into $P" 0 cmake --install "$BUILD" --prefix "$P"
expect_exit "the installed tally --version" 0 "$P/bin/tally" --version
check "  prints the version" grep -Eq '^tally [0-9]+\.[0-9]+' "$T/last.out"
for t in default mono high-contrast light deuteranopia; do
	check "theme $t installed" test -f "$P/share/tally/themes/$t.theme"
done
for m in man1/tally.1 man5/tally.conf.5; do
	check "$m installed" test -f "$P/share/man/$m"
	w=$(MANWIDTH=80 man --warnings -l "$P/share/man/$m" 2>&1 >/dev/null)
	expect_eq "  man -l renders it without warnings" "$w" ""
	check "  and it has text" bash -c "MANWIDTH=80 man -l '$P/share/man/$m' 2>/dev/null | grep -q tally"
done
check "the Chinese catalog installed" test -s "$P/share/locale/zh_CN/LC_MESSAGES/tally.mo"
# the installed binary finds it relative to itself: a copy of the prefix
# elsewhere with a catalog of its own (one message) reads that one, not the
# build tree's
if locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8'; then
	zhhelp=$(LC_ALL=zh_CN.UTF-8 "$P/bin/tally" --help 2>&1 | head -1)
	expect_eq "  the installed binary's --help under zh_CN.UTF-8 is Chinese" "$zhhelp" "用法：tally [选项] [命令 [参数...]]"
	cp -a "$P" "$T/moved"
	printf 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "tally: watch needs a terminal\\n"\nmsgstr "MOVED PREFIX\\n"\n' >"$T/one.po"
	msgfmt -o "$T/moved/share/locale/zh_CN/LC_MESSAGES/tally.mo" "$T/one.po"
	got=$(LC_ALL=zh_CN.UTF-8 "$T/moved/bin/tally" watch </dev/null 2>&1 >/dev/null || true)
	expect_eq "  a moved prefix reads its own share/locale" "$got" "MOVED PREFIX"
else
	echo "ok - the installed catalog's use skipped: no zh_CN.UTF-8 locale"
fi
check "bash completion installed and parses" bash -n "$P/share/bash-completion/completions/tally"
check "zsh completion installed" test -s "$P/share/zsh/site-functions/_tally"
if command -v zsh >/dev/null; then check "  and parses" zsh -n "$P/share/zsh/site-functions/_tally"; fi
for u in tally@.service tally-health@.service tally-health@.timer; do
	check "unit $u installed" test -f "$P/lib/systemd/system/$u"
done
check "the engine unit runs the installed binary" grep -q "^ExecStart=$P/bin/tally -C %f serve" "$P/lib/systemd/system/tally@.service"
check "  as a tally user with a StateDirectory" bash -c 'grep -q "^User=tally" "$1" && grep -q "^StateDirectory=tally" "$1"' _ "$P/lib/systemd/system/tally@.service"
check "  Type=notify, no restart loop on exit 3, hardened" bash -c 'grep -q "^Type=notify" "$1" && grep -q "^RestartPreventExitStatus=.*3" "$1" && grep -q "^ProtectSystem=strict" "$1" && grep -q "^NoNewPrivileges=yes" "$1" && grep -q "^ReadWritePaths=%f" "$1"' _ "$P/lib/systemd/system/tally@.service"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	cp "$P/lib/systemd/system/tally@.service" "$T/units/tally@srv-versions.service"
	cp "$P/lib/systemd/system/tally-health@.service" "$T/units/tally-health@srv-versions.service"
	out=$(cd "$T/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./tally@srv-versions.service ./tally-health@srv-versions.service 2>&1 | grep -v 'tally.service\|network-online' || true)
	expect_eq "systemd-analyze verify has nothing to say about the units" "$out" ""
else
	echo "ok - systemd-analyze verify skipped: not installed"
fi

# the installed binary finds a theme that only the install has
REG=127.0.0.1:9   # nothing is built
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
sed 's/^# .*//' "$P/share/tally/themes/mono.theme" >"$P/share/tally/themes/only-installed.theme"
TALLY_BIN="$P/bin/tally"
expect_exit "setup: pause (nothing runs)" 0 "$TALLY_BIN" -C "$V" --no-tui pause
console_start 80 24 -- --theme only-installed
keys '?' G
expect_screen "the installed console found the installed theme" 'theme: only-installed'
expect_no_screen "and no theme error" 'not found' 0.3
keys q q
console_stop
finish
