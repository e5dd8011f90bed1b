#!/usr/bin/env bash
# tally completion bash|zsh (SPEC section 8): the scripts parse, bash
# completes commands, a command's options and component names read from
# tally.conf through the real complete/COMP_WORDS machinery.
. "$(dirname "$0")/lib.sh"
REG=127.0.0.1:9   # no registry is needed: nothing is built
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
expect_exit "completion bash" 0 tally completion bash
cp "$T/last.out" "$T/tally.bash"
check "  bash -n accepts it" bash -n "$T/tally.bash"
expect_exit "completion zsh" 0 tally completion zsh
cp "$T/last.out" "$T/_tally"
if command -v zsh >/dev/null; then
	check "  zsh -n accepts it" zsh -n "$T/_tally"
else
	echo "ok - zsh -n skipped: zsh is not installed"
fi
expect_exit "completion fish is a usage error" 2 tally completion fish
expect_exit "__components lists the components of tally.conf" 0 tally __components
expect_eq "  in config order" "$(tr '\n' ' ' <"$T/last.out")" "server chat "

# complete WORDS...: what bash's completion offers for the last word
complete_words() {
	PATH="$(dirname "$TALLY_BIN"):$PATH" bash -c '
		source "$1"; shift
		complete -p tally >/dev/null || exit 9
		fn=$(complete -p tally | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		"$fn"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$T/tally.bash" "$@"
}
expect_eq "a command from its prefix" "$(complete_words tally sta)" "status "
expect_eq "a component name from tally.conf (-C given)" "$(complete_words tally -C "$V" check se)" "server "
expect_eq "every component after run" "$(complete_words tally -C "$V" run '')" "chat server "
expect_eq "a command's own options" "$(complete_words tally logs --f)" "--follow "
expect_eq "help offers config" "$(complete_words tally help con)" "config "
finish
