#!/bin/sh
# build-rpm.sh [-o OUTDIR] [-s SRCDIR] [--git] [--keep] [-- RPMBUILD-ARGS]:
# build the claude-proxy binary .rpm from a clean copy of the tree.
#
#   -o OUTDIR  where the .rpm goes (default ./dist, created)
#   -s SRCDIR  the source tree (default: the tree this script is in)
#   --git      build what HEAD holds instead of the working tree
#   --keep     keep the temporary rpmbuild tree and say where it is
#
# Runs rpmbuild -bb with its own _topdir. On anything but an RPM distribution
# (Debian's rpm package) the build dependencies are not in the rpm database:
# set RPMBUILD_NODEPS=0 to have rpmbuild check them, the default is --nodeps
# unless /etc/redhat-release or /etc/SUSE-brand exists. The last line printed
# is the path of the .rpm.
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
	--) shift; break ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build-rpm.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

command -v rpmbuild >/dev/null 2>&1 ||
    { echo "build-rpm.sh: rpmbuild not found (Debian: apt-get install rpm)" >&2; exit 1; }

spec=$src/packaging/rpm/claude-proxy.spec
version=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" \
    "$src/meson.build" | head -n 1)
specversion=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ -z "$version" ] || [ "$specversion" != "$version" ]; then
	echo "build-rpm.sh: claude-proxy.spec has Version $specversion but" \
	    "meson.build has '$version'; update the spec (and its %changelog)" >&2
	exit 1
fi

if [ -z "${RPMBUILD_NODEPS:-}" ]; then
	if [ -e /etc/redhat-release ] || [ -e /etc/SUSE-brand ]; then
		RPMBUILD_NODEPS=0
	else
		RPMBUILD_NODEPS=1
	fi
fi
nodeps=
[ "$RPMBUILD_NODEPS" = 1 ] && nodeps=--nodeps

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/claude-proxy-rpm.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "build-rpm.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
fi

top=$tmp/rpmbuild
mkdir -p "$top/SOURCES" "$top/SPECS"
sh "$src/packaging/snapshot.sh" $snap_opt "$src" "$tmp/claude-proxy-$version"
tar -C "$tmp" -czf "$top/SOURCES/claude-proxy-$version.tar.gz" "claude-proxy-$version"
cp "$src/packaging/sysusers/claude-proxy.conf" "$top/SOURCES/claude-proxy.sysusers"
cp "$spec" "$top/SPECS/"

rpmbuild -bb $nodeps --define "_topdir $top" "$@" "$top/SPECS/claude-proxy.spec"

set -- "$top"/RPMS/*/claude-proxy-"$version"-*.rpm
[ -f "$1" ] || { echo "build-rpm.sh: rpmbuild made no .rpm" >&2; exit 1; }
for f; do
	case $f in *-debuginfo-*|*-debugsource-*) continue ;; esac
	cp "$f" "$out/"
	rpm=$out/$(basename "$f")
done
echo "$rpm"
