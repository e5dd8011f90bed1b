#!/usr/bin/env bash
# recordAlso files in the record commit (found in review; was
# t_regressions.sh 4 to 6):
#  4 17 recordAlso files are all recorded in one commit
#  5 a gitignored, untracked recordAlso file is refused, never overwritten
#  6 a recordAlso file keeps its mode (0600) across a record
. "$(dirname "$0")/lib.sh"
review_start

# --- 4: 17 recordAlso files in one commit -----------------------------------------
new_repo reg4
# f1..f8 do not exist yet (tally creates them), f9..f17 are committed
for i in $(seq 1 17); do
	git config -f "$V/tally.conf" --add component.chat.recordAlso "f$i.env:V={version}"
	if [ "$i" -gt 8 ]; then printf 'A=keep%s\nV=v1.0.0\n' "$i" >"$V/f$i.env"; fi
done
commit_versions "chat records 17 files"
N4=$(commits)
expect_exit "4: run chat ships v1.0.1" 0 tally run chat
expect_eq "4: one commit" "$(commits)" $((N4 + 1))
WANT4="chat-versions.txt $(for i in $(seq 1 17); do echo "f$i.env"; done | sort | tr '\n' ' ')"
expect_eq "4: the commit holds the version file and the 17 files" "$(files_of HEAD)" "$WANT4"
expect_eq "4: 18 files in the commit" "$(git -C "$V" show --name-only --format= HEAD | sed '/^$/d' | wc -l | tr -d ' ')" 18
ok4=0
for i in $(seq 1 17); do
	[ "$(git -C "$V" show "HEAD:f$i.env" 2>/dev/null | sed -n 's/^V=//p')" = v1.0.1 ] ||
		{ ok4=1; echo "    | f$i.env: $(git -C "$V" show "HEAD:f$i.env" 2>&1 | tr '\n' ' ')" >&2; }
done
expect_eq "4: every file records V=v1.0.1" "$ok4" 0
expect_eq "4: other lines are kept (f17.env)" "$(sed -n 's/^A=//p' "$V/f17.env")" keep17
expect_eq "4: record is v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
check "4: the working tree is clean" worktree_clean

# --- 5: a gitignored, untracked recordAlso file -----------------------------------
new_repo reg5
git -C "$V" rm -q --cached .env
echo ".env" >"$V/.gitignore"
commit_versions "env is local"
printf 'COMPOSE_PROJECT_NAME=openim\nSECRET_TOKEN=hunter2\nOPENIM_SERVER_VERSION=v3.8.0-anolis\n' >"$V/.env"
SUM5=$(sha256sum <"$V/.env")
N5=$(commits)
expect_exit "5: run server is refused (exit 1)" 1 tally run server
check "5:   naming .env" has_text "\.env"
check "5:   saying it is ignored" has_text "ignored"
expect_eq "5: .env is untouched" "$(sha256sum <"$V/.env")" "$SUM5"
check "5: the secret line is still there" grep -qx 'SECRET_TOKEN=hunter2' "$V/.env"
expect_eq "5: no commit" "$(commits)" "$N5"
expect_eq "5: record stays v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "5: .env is still not tracked" "$(git -C "$V" ls-files -- .env)" ""

# --- 6: a recordAlso file keeps mode 0600 -----------------------------------------
new_repo reg6
chmod 600 "$V/.env"
umask 022
check "6: the tree is clean with .env at 0600" worktree_clean
expect_exit "6: run server ships v3.8.1" 0 tally run server
expect_eq "6: .env records v3.8.1" "$(sed -n 's/^OPENIM_SERVER_VERSION=//p' "$V/.env")" v3.8.1-anolis
expect_eq "6: .env keeps mode 600" "$(stat -c %a "$V/.env")" 600
check "6: .env is in the record commit" grep -q '\.env' <<<"$(files_of HEAD)"
check "6: the working tree is clean" worktree_clean

finish
