#!/usr/bin/env bash
# The console in Simplified Chinese (SPEC section 16), compared WHOLE at
# 80x24 and 120x40 against tests/console/expected/zh-*.txt (masked with
# screen_mask): the main screen with a failure (headings, state words, the
# problem line and the class's hint in Chinese, columns aligned by display
# width), the skip dialog (its text wrapped by display width) and the help
# view; the detail view shows the engine's message translated. The test's own tools stay in C.UTF-8; only the console runs under
# LANG=LC_ALL=zh_CN.UTF-8. Regenerate with TALLY_UPDATE_SCREENS=1.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8'; then
	echo "not ok - the zh_CN.UTF-8 locale is missing (bash scripts/bootstrap generates it)"
	exit 1
fi
screens_repo
touch "$CTL/fail-v3.8.1"
expect_exit "setup: the build of v3.8.1 fails in batch" 1 tally run

console_start 120 40 LANG=zh_CN.UTF-8 LC_ALL=zh_CN.UTF-8
expect_screen "the console speaks Chinese" '组件 +已记录 +上游 +已构建 +状态 +上次 +下次'
expect_screen "  the failure's problem line" 'server 失败：recipe（构建 退出 127）：/bin/sh: 1: wget: command not found'
expect_screen "  the class's hint in Chinese" '提示：修改 Dockerfile 或构建配方'
expect_screens zh-main-failed "zh: main screen, a failure with its decisive line and hint"
keys s
expect_screen "s opens the skip dialog" '跳过 server v3\.8\.1'
expect_screens zh-dialog-skip "zh: the skip dialog"
keys Escape
expect_screen "Esc cancels" '已取消'
keys '?'
expect_screen "? opens the help" '帮助（Esc 返回）'
expect_screens zh-help-view "zh: the help view"
keys Escape
# the detail view shows the engine's message (English in the ledger and
# the status JSON) through the catalog's translation of its format
want=$(printf "$(zh_tr '%s exited with status %d')" build 127)
check "  the catalog translates the engine's format" test "$want" != "build exited with status 127"
keys Enter
expect_screen "Enter: the detail view's problem is the engine's message in Chinese" "recipe: $want"
keys Escape
console_stop
finish
