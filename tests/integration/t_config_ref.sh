#!/usr/bin/env bash
# The configuration reference ships with tally: docs/tally.conf.5 is what
# `tally help config --man` makes from the key table (engine/confkeys.c), the
# text reference fits 80 columns and names every key and template variable,
# the man pages lint clean, and README.md links inside the repository only.
. "$(dirname "$0")/lib.sh"
D=$TALLY_SRC/docs

"$TALLY_BIN" help config --man >"$T/conf.5"
if diff -u "$D/tally.conf.5" "$T/conf.5" >"$T/conf.diff"; then
	ok "docs/tally.conf.5 matches the key table"
else
	not_ok "docs/tally.conf.5 differs from the key table; regenerate with tests/console/gen_man_conf.sh > docs/tally.conf.5"
	head -20 "$T/conf.diff" >&2
fi
for page in tally.1 tally.conf.5; do
	groff -ww -man -z "$D/$page" 2>"$T/lint.$page" || true
	if [ -s "$T/lint.$page" ]; then not_ok "$page lints clean"; cat "$T/lint.$page" >&2; else ok "$page lints clean (groff -ww -man -z)"; fi
done
MANWIDTH=80 man -l "$D/tally.conf.5" 2>/dev/null >"$T/conf.txt" || true
check "man renders tally.conf(5)" grep -q 'TALLY.CONF(5)' "$T/conf.txt"
expect_eq "tally.conf(5) renders within 80 columns" "$(awk 'length($0) > 80' "$T/conf.txt" | head -3)" ""

expect_exit "tally help config exits 0" 0 "$TALLY_BIN" help config
cp "$T/last.out" "$T/help.txt"
expect_exit "tally --help-config exits 0" 0 "$TALLY_BIN" --help-config
check "  and prints the same" cmp -s "$T/last.out" "$T/help.txt"
expect_eq "the text reference fits 80 columns" "$(awk 'length($0) > 80' "$T/help.txt" | head -3)" ""
expect_eq "tally --help fits 80 columns" "$("$TALLY_BIN" --help | awk 'length($0) > 80' | head -3)" ""
check "tally --help names help config" grep -q 'help-config' <("$TALLY_BIN" --help)

# every key and variable of the page is in the text, with its default
keys=$(sed -n '/^\.TP$/{n;s/^\.B //p}' "$D/tally.conf.5" | sed 's/\\-/-/g')
n=$(echo "$keys" | grep -c .)
check "the page documents more than 30 keys and variables ($n)" test "$n" -gt 30
missing=""
for k in $keys; do grep -qF -- "$k" "$T/help.txt" || missing="$missing $k"; done
expect_eq "every key and variable of the page is in tally help config" "$missing" ""
for k in tally.stateDir registry.authFile github.apiUrl component.\<n\>.recordAlso component.\<n\>.floatingTag '{digestfile}' '{tlsverify}'; do
	check "  $k is documented" grep -qF -- "$k" "$T/help.txt"
done
check "  the push default is shown" grep -qF 'buildah push --tls-verify={tlsverify}' "$T/help.txt"

# the page's keys are the ones tally accepts: each one in a config loads
mkdir -p "$T/r" && git -C "$T/r" init -q
refused=""
for k in $(echo "$keys" | grep '^component\.<n>\.' | sed 's/^component\.<n>\.//'); do
	case $k in file|upstream|build) continue ;; esac
	printf '[component "a"]\n\tfile = a.txt\n\tupstream = manual\n\tbuild = true\n' >"$T/r/tally.conf"
	case $k in
	include|exclude) v='^v' ;; match) v='v(.*)' ;; prerelease) v=true ;; order) v=semver ;;
	timeout) v=5 ;; schedule) v='0 1 * * *' ;; recordAlso) v='.env:A={version}' ;; key) v=a ;;
	image) v='{prefix}/a' ;; tag|floatingTag) v='{version}' ;; *) v='x' ;;
	esac
	git config -f "$T/r/tally.conf" "component.a.$k" "$v"
	"$TALLY_BIN" -C "$T/r" --no-tui status >/dev/null 2>"$T/r.err" || true
	if grep -q 'unknown key' "$T/r.err"; then refused="$refused $k"; cat "$T/r.err" >&2; fi
done
expect_eq "every component key of the page is accepted by the loader" "$refused" ""

# README: links to the pages, never outside the repository
R=$TALLY_SRC/README.md
check "README links docs/tally.conf.5" grep -q 'docs/tally.conf.5' "$R"
check "README links docs/tally.1" grep -q 'docs/tally.1' "$R"
expect_eq "README points nowhere outside the repository" "$(grep -nE '\.\./|/work/|shared/SPEC' "$R" | head -3)" ""
finish
