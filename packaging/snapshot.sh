#!/bin/sh
# snapshot.sh [--git] SRCDIR DESTDIR: copy the source tree at SRCDIR into
# DESTDIR (created) for a package build.
#
# By default it copies the working tree as it is, uncommitted and untracked
# files included, minus what .gitignore excludes (build*/, node_modules/, a
# local config.json with keys), dist/ (where the build scripts put packages)
# and .git. Outside a git checkout it copies
# everything but .git, build*, dist and node_modules. With --git it exports
# HEAD only (git archive), as a release would.
set -eu

mode=worktree
if [ "${1:-}" = "--git" ]; then
	mode=git
	shift
fi
if [ $# -ne 2 ]; then
	echo "usage: snapshot.sh [--git] SRCDIR DESTDIR" >&2
	exit 2
fi
src=$1
dest=$2
mkdir -p "$dest"

if [ "$mode" = git ]; then
	git -C "$src" archive --format=tar HEAD | tar -C "$dest" -xf -
elif git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked files still present, plus untracked ones .gitignore allows,
	# but not the packages a previous build left in ./dist.
	# shellcheck disable=SC2016 # $f expands in the inner sh
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 -r sh -c 'for f; do case $f in dist/*) continue ;; esac
	        [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null --no-recursion -T - -cf -) | tar -C "$dest" -xf -
else
	tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./dist \
	    --exclude=node_modules -cf - . | tar -C "$dest" -xf -
fi
