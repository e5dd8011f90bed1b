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
	# bash keeps tally's exit status in $T/console.rc (tmux does not always
	# reap the pane's process in time to say it)
	rm -f "$T/console.rc"
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x "$cols" -y "$rows" \
		env TERM=screen-256color "${envs[@]}" bash -c '"$@"; echo $? >"$0"' "$T/console.rc" "$TALLY_BIN" -C "$V" "$@"
	tmux -S "$TMUX_SOCK" set-option -g remain-on-exit on >/dev/null
	local pid
	pid=$(tmux -S "$TMUX_SOCK" display -p -t t '#{pid}')
	PIDS+=("$pid")
	CONSOLE_PID=$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_pid}')
}

# console_stop: end the console and the engine it started in the background
console_stop() {
	local i p
	# quit the console first: one killed together with its terminal can hang
	# in LeakSanitizer's check at exit (seen in the ASan build: spinning in
	# sched_yield, traced by the leak checker), and would eat the CPU of
	# every later test
	tmux -S "$TMUX_SOCK" send-keys -t t Escape q q 2>/dev/null || true
	for i in $(seq 30); do console_dead 2>/dev/null && break; sleep 0.1; done
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	"$TALLY_BIN" -C "$V" --no-tui stop --now >"$T/stop.out" 2>&1 || true
	sleep 0.3
	# no console of this test outlives it (batch commands are left alone)
	for p in $(pgrep -f -- "^$TALLY_BIN -C $V" 2>/dev/null); do
		grep -qa -- "--no-tui" "/proc/$p/cmdline" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
	done
}

screen() { tmux -S "$TMUX_SOCK" capture-pane -p -t t "$@"; }
keys() { tmux -S "$TMUX_SOCK" send-keys -t t "$@"; }
console_resize() { tmux -S "$TMUX_SOCK" resize-window -t t -x "$1" -y "$2"; }
console_dead() { [ "$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_dead}')" = 1 ] || [ -s "$T/console.rc" ]; }
# console_rc: tally's exit status once it ended (128+N: killed by signal N)
console_rc() { local i; for i in $(seq 30); do [ -s "$T/console.rc" ] && break; sleep 0.1; done; cat "$T/console.rc" 2>/dev/null; }

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

# mask_screen: screen_mask (below: only what varies is masked), and on the
# header line the 80-column word forms made one ("tally │", "engine",
# "next run" dropped): for screens taken under the default daily schedule,
# where the header shortens its words only when the next run's time carries
# a date, which depends on the time of day
mask_screen() {
	screen_mask | sed -E -e '1{s/^ ?tally │ / /; s/│ engine (running|paused)/│ \1/; s/next run WHEN/next WHEN/}'
}

# expect_screen_file DESCRIPTION FILE [SED]: the masked screen equals the
# masked expected screen tests/console/expected/FILE within 8 s (flash
# messages expire after 5 s; the files hold the steady screen). SED, when
# given, is applied to both first (e.g. '9,39d' leaves out a build's log).
# TALLY_UPDATE_SCREENS=1 writes the file from the screen instead.
expect_screen_file() {
	local want="$TALLY_SRC/tests/console/expected/$2" f=${3:-} i got
	if [ "${TALLY_UPDATE_SCREENS:-}" = 1 ]; then
		sleep 6
		screen >"$want"
		ok "$1 (screen written to $want)"
		return
	fi
	local exp
	exp=$(mask_screen <"$want" | sed -e "${f:-p;d}")
	for i in $(seq 80); do
		got=$(screen | mask_screen | sed -e "${f:-p;d}")
		[ "$got" = "$exp" ] && { ok "$1"; return; }
		sleep 0.1
	done
	not_ok "$1: the screen differs from $2 (masked; - expected, + got)"
	{ diff <(echo "$exp") <(echo "$got") || true; } | sed 's/^/    | /' >&2
}

# screen_mask: the strict mask of the whole-screen comparisons
# (expect_screens): only what varies from run to run is replaced, each by
# one word, and the padding next to it (which varies with its width) made
# one space; every other character and space stays, so a moved column, a
# cut word or a changed glyph fails. Masked: the clock (CLOCK), attempt
# ids (ATTEMPT), the registry's port (REGISTRY), temporary paths (PATH),
# digests (DIGEST), image ids and commit ids of 7+ hex digits with a digit
# in them (HEX), times of day with or without a date (WHEN), stage
# durations (DURATION, "13.5s") and ages or countdowns (AGE, e.g. "5s",
# "in 3h"). The tests that use it fix the
# schedule to a date (so the 80-column header never changes its word
# forms with the time of day) and make their builds print fixed lines.
screen_mask() {
	# a token is \x01NAME\x04; the spaces on either side of it become one
	sed -E -e 's/[0-9]{2}:[0-9]{2}:[0-9]{2} UTC/\x01CLOCK\x04/g' \
		-e 's/[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9]+/\x01ATTEMPT\x04/g' \
		-e 's/127\.0\.0\.1:[0-9]+/\x01REGISTRY\x04/g' \
		-e 's#/tmp/[^ ]*#\x01PATH\x04#g' \
		-e 's/sha256:[0-9a-f]+/\x01DIGEST\x04/g' \
		-e 's/\b[0-9a-f]*[0-9][0-9a-f]*\b/&\x02/g' -e 's/\b[0-9a-f]{7,}\x02/\x01HEX\x04/g' -e 's/\x02//g' \
		-e 's/\b([0-9]{4}-)?([0-9]{2}-[0-9]{2}[ T])?[0-9]{2}:[0-9]{2}(:[0-9]{2}Z?)?( UTC)?/\x01WHEN\x04/g' \
		-e 's/\b[0-9]+\.[0-9]+s\b/\x01DURATION\x04/g' -e 's/\b[0-9]+[smhd]\b/\x01AGE\x04/g' \
		-e 's/ +\x01/\x05\x01/g' -e 's/\x04 +/\x04\x05/g' -e 's/\x05+/ /g' -e 's/[\x01\x04]//g' \
		-e 's/ +$//'
}

# expect_screens NAME DESCRIPTION [flash]: the console's screen, masked
# with screen_mask, equals tests/console/expected/NAME-80x24.txt at 80x24
# and NAME-120x40.txt at 120x40 (the console is resized to each; it is
# left at 120x40), within 12 s of each resize (an error's flash message
# lasts 10 s; the files hold the steady screen). On a difference the masked
# diff is printed (- expected, + got). TALLY_UPDATE_SCREENS=1 writes the
# files from the screen instead, once it is steady (11 s at the first size,
# flash messages gone), or at once with "flash" (the screen shows a flash
# message that is part of what is compared).
expect_screens() {
	local name=$1 desc=$2 mode=${3:-} size want exp got i
	for size in 80x24 120x40; do
		console_resize "${size%x*}" "${size#*x}"
		want="$TALLY_SRC/tests/console/expected/$name-$size.txt"
		if [ "${TALLY_UPDATE_SCREENS:-}" = 1 ]; then
			# (an error's flash stays 10 s; at the second size it is gone)
			if [ "$mode" = flash ]; then sleep 0.5; elif [ "$size" = 80x24 ]; then sleep 11; else sleep 2; fi
			screen >"$want"
			ok "$desc at $size (written to tests/console/expected/$name-$size.txt)"
			continue
		fi
		if [ ! -f "$want" ]; then
			not_ok "$desc at $size: no $want (TALLY_UPDATE_SCREENS=1 writes it)"
			continue
		fi
		exp=$(screen_mask <"$want")
		for i in $(seq 120); do
			got=$(screen | screen_mask)
			[ "$got" = "$exp" ] && break
			sleep 0.1
		done
		if [ "$got" = "$exp" ]; then ok "$desc at $size"; else
			not_ok "$desc at $size: the screen differs from tests/console/expected/$name-$size.txt (masked; - expected, + got)"
			{ diff <(echo "$exp") <(echo "$got") || true; } | sed 's/^/    | /' >&2
		fi
	done
}

# screens_repo: what the whole-screen tests start from: a registry, the
# upstreams (v3.8.1 released), the versions repo building through build.sh,
# a schedule whose next run always carries a date (so that the header's
# words do not depend on the time of day)
screens_repo() {
	start_registry
	make_upstream v3.8.0 v3.8.1
	make_chat_upstream v1.0.0
	make_versions_repo
	use_ctl_build
	conf_set tally.schedule '0 0 1 1 *'
	commit_versions "a schedule with a date"
}

# screens_setup: screens_repo with v3.8.1 shipped in batch
# (t_console_screens*.sh)
screens_setup() {
	screens_repo
	expect_exit "setup: ship v3.8.1 in batch" 0 tally run
}
