# tmux.sh - helpers for the console tests (sourced after lib.sh): run tally
# in a detached tmux session of a fixed size on a private server, send keys,
# read the screen with capture-pane.
TMUX_SOCK="$T/tmux.sock"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

# console_start COLS ROWS [ENV=VAL...] [-- TALLY-ARGS...]: start tally in tmux
console_start() {
	local cols=$1 rows=$2
	shift 2
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	# the console's exit status goes to $T/console.rc (128+N for signal N)
	rm -f "$T/console.rc"
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x "$cols" -y "$rows" \
		sh -c 'env "$@"; echo $? >"$0"' "$T/console.rc" TERM=screen-256color "${envs[@]}" "$TALLY_BIN" -C "$V" "$@"
	tmux -S "$TMUX_SOCK" set-option -g remain-on-exit on >/dev/null
	local pid
	pid=$(tmux -S "$TMUX_SOCK" display -p -t t '#{pid}')
	PIDS+=("$pid")
	CONSOLE_PID=$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_pid}')
}

# console_stop: end the console and the engine it started in the background
console_stop() {
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	local i
	"$TALLY_BIN" -C "$V" --no-tui stop --now >"$T/stop.out" 2>&1 || true
	sleep 0.3
}

screen() { tmux -S "$TMUX_SOCK" capture-pane -p -t t "$@"; }
keys() { tmux -S "$TMUX_SOCK" send-keys -t t "$@"; }
console_resize() { tmux -S "$TMUX_SOCK" resize-window -t t -x "$1" -y "$2"; }
console_dead() { [ "$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_dead}')" = 1 ]; }
# console_rc: the console's exit status once it ended, else empty
console_rc() { cat "$T/console.rc" 2>/dev/null; }

# wait_screen REGEX [SECONDS]: until the screen matches (grep -E)
wait_screen() {
	local re=$1 secs=${2:-20} i
	for i in $(seq $((secs * 10))); do
		screen | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	return 1
}

# expect_screen DESCRIPTION REGEX [SECONDS]
expect_screen() {
	if wait_screen "$2" "${3:-20}"; then ok "$1"; else
		not_ok "$1: screen never matched /$2/"
		screen | sed 's/^/    | /' >&2
	fi
}

# expect_no_screen DESCRIPTION REGEX [SECONDS]: does not match after SECONDS
expect_no_screen() {
	sleep "${3:-1}"
	if screen | grep -Eq -- "$2"; then
		not_ok "$1: screen matches /$2/"
		screen | sed 's/^/    | /' >&2
	else ok "$1"; fi
}

# row_of COMP: the component's table line
row_of() { screen | grep -E "^.? ?$1 " | head -1; }
