#!/bin/sh
# bench/run.sh [--no-build] [--quick] [--no-slow] [--wait-idle SECONDS]
#              [--serve SECONDS]
# Benchmarks claude-proxy against an nginx proxy_pass floor on 127.0.0.1
# (see bench/bench.py and bench/RESULTS.md) and writes bench/results.json
# and bench/results.txt. The default run takes about 5 minutes on 2 cores.
#   --quick      a ~1 minute smoke run
#   --no-slow    skip the 512 slow streams
#   --wait-idle  wait up to SECONDS for other jobs to leave the CPU first
#   --serve      only start the upstream, the floor and claude-proxy, print
#                their URLs and keep them up SECONDS (for profiling)
# Needs nginx, wrk, python3, meson and ninja:
#   apt-get install -y nginx-light wrk python3 meson ninja-build
# The daemon is built with --buildtype=release in bench/build, or set
# CLAUDE_PROXY=/path/to/claude-proxy (then --no-build is implied).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=1
for a; do			# take out our options, pass the rest on
	shift
	case $a in
	--no-build) build= ;;
	-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
	*) set -- "$@" "$a" ;;
	esac
done

for t in nginx wrk python3; do
	command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "$0: $t not found (apt-get install nginx-light wrk python3)" >&2; exit 1; }
done

if [ -n "${CLAUDE_PROXY:-}" ]; then
	bin=$CLAUDE_PROXY
else
	bin=$here/build/claude-proxy
	if [ -n "$build" ]; then
		if [ ! -f "$here/build/build.ninja" ]; then
			meson setup "$here/build" "$repo" --buildtype=release >/dev/null
		fi
		ninja -C "$here/build" claude-proxy >/dev/null
	fi
fi
[ -x "$bin" ] || { echo "$0: no executable $bin" >&2; exit 1; }

# 512 streams: a socket each in the client, the proxy and the upstream
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then
	ulimit -n 65536
else
	ulimit -n "$hard"
fi
[ "$(ulimit -n)" -ge 2048 ] ||
    { echo "$0: ulimit -n is $(ulimit -n), need 2048" >&2; exit 1; }

# bench.py kills what it started; this trap is the backstop should it die:
# every process group it started is listed in $pgids
pgids=$(mktemp "${TMPDIR:-/tmp}/claude-proxy-bench-pgids.XXXXXX")
pid=
rc=1
cleanup() {
	trap - EXIT INT TERM HUP
	if [ -n "$pid" ]; then		# interrupted: bench.py cleans up
		kill -TERM "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	if [ "$rc" != 0 ]; then		# it failed or died: the backstop
		while read -r g; do
			kill -KILL -- "-$g" 2>/dev/null || :
		done < "$pgids"
	fi
	rm -f "$pgids"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

python3 "$here/bench.py" --binary "$bin" --pgid-file "$pgids" "$@" &
pid=$!
if wait "$pid"; then rc=0; else rc=$?; fi
pid=
exit "$rc"
