#!/bin/sh
# build-deb.sh [-o OUTDIR] [-s SRCDIR] [--git] [--keep]: build the claude-proxy
# .deb from a clean copy of the tree.
#
#   -o OUTDIR  where the .deb goes (default ./dist, created)
#   -s SRCDIR  the source tree (default: the tree this script is in)
#   --git      build what HEAD holds instead of the working tree
#   --keep     keep the temporary build directory and say where it is
#
# The copy (packaging/snapshot.sh) leaves out build directories, node_modules
# and .git; packaging/debian becomes debian/ there and dpkg-buildpackage -b
# builds it. Build dependencies are checked by dpkg-buildpackage
# (debian/control); the last line printed is the path of the .deb.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=./dist
snap_opt=
keep=0

while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a directory}; shift 2 ;;
	-s) src=$(cd "${2:?-s needs a directory}" && pwd); shift 2 ;;
	--git) snap_opt=--git; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build-deb.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

version=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" \
    "$src/meson.build" | head -n 1)
[ -n "$version" ] || { echo "build-deb.sh: no version in $src/meson.build" >&2; exit 1; }
debversion=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
if [ "${debversion%-*}" != "$version" ]; then
	echo "build-deb.sh: packaging/debian/changelog has $debversion but" \
	    "meson.build has $version; add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/claude-proxy-deb.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "build-deb.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
fi

tree=$tmp/claude-proxy-$version
sh "$src/packaging/snapshot.sh" $snap_opt "$src" "$tree"
if [ ! -d "$tree/packaging/debian" ]; then
	echo "build-deb.sh: the copied tree has no packaging/debian" \
	    "(with --git: is it committed?)" >&2
	exit 1
fi
rm -rf "$tree/debian"
mv "$tree/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -us -uc -b)

set -- "$tmp"/claude-proxy_"$debversion"_*.deb
[ -f "$1" ] || { echo "build-deb.sh: dpkg-buildpackage made no .deb" >&2; exit 1; }
cp "$1" "$out/"
echo "$out/$(basename "$1")"
