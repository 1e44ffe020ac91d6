#!/bin/sh
# bench/run.sh [--no-build] [--quick] [--no-slow] [--wait-idle SECONDS]
#              [--serve SECONDS]
# bench/run.sh --streams N [--no-peers] [--wait-idle SECONDS]
#              [--stream-servers LIST] [--stream-events N]
#              [--stream-interval-ms MS]
# Benchmarks claude-proxy against an nginx proxy_pass floor on 127.0.0.1
# (see bench/bench.py and bench/RESULTS.md) and writes bench/results.json
# and bench/results.txt. The default run takes about 5 minutes on 2 cores.
#   --quick      a ~1 minute smoke run
#   --no-slow    skip the 512 slow streams
#   --wait-idle  wait up to SECONDS for other jobs to leave the CPU first
#   --serve      only start the upstream, the floor and claude-proxy, print
#                their URLs and keep them up SECONDS (for profiling)
#   --streams N  instead: N concurrent streams opened at once through the
#                tools alone, the floor, claude-proxy (a ready pool and a
#                growing one) and the peers from npm (bench/streams.py);
#                writes bench/results-streams.{json,txt}; about 5 minutes
#   --no-peers   with --streams: do not install or run the npm peers
# Needs nginx, wrk, python3, a C compiler, meson and ninja, and for the
# peers node >= 20 and npm:
#   apt-get install -y nginx-light wrk python3 gcc meson ninja-build nodejs npm
# The daemon is built with --buildtype=release in bench/build, or set
# CLAUDE_PROXY=/path/to/claude-proxy (then --no-build is implied). The load
# generator and the paced upstream (sse_load.c, sse_upstream.c) are always
# built, into bench/build.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=1
streams=
peers=1
for a; do			# take out our options, pass the rest on
	shift
	case $a in
	--no-build) build= ;;
	--no-peers) peers=; set -- "$@" "$a" ;;
	--streams) streams=1; set -- "$@" "$a" ;;
	-h|--help) sed -n '2,29p' "$0"; exit 0 ;;
	*) set -- "$@" "$a" ;;
	esac
done
[ -n "$streams" ] || peers=

need="nginx python3"
[ -n "$streams" ] || need="$need wrk"
[ -z "$peers" ] || need="$need node npm"
for t in $need; do
	command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "$0: $t not found (apt-get install nginx-light wrk python3 nodejs npm)" >&2; exit 1; }
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

# the client and the upstream of the stream benchmarks, in C: Python's
# asyncio could not keep pace with a thousand streams (bench/RESULTS.md)
mkdir -p "$here/build"
for t in sse_load sse_upstream fork_relay; do
	if [ ! -x "$here/build/$t" ] || [ "$here/$t.c" -nt "$here/build/$t" ]; then
		${CC:-cc} -O2 -Wall -Wextra -o "$here/build/$t" "$here/$t.c"
	fi
done

# the peers, exactly as bench/peers/package-lock.json pins them. Some
# optional platform packages they name (@opentui/core-darwin-x64 0.1.107,
# bun-webgpu-win32-x64 ^0.1.7...) were never published; package.json's
# overrides point those (never installed on Linux x64) at versions that
# exist, so the lockfile is complete and npm ci accepts it.
if [ -n "$peers" ]; then
	if [ ! -f "$here/peers/node_modules/.package-lock.json" ] ||
	    [ "$here/peers/package-lock.json" -nt \
	    "$here/peers/node_modules/.package-lock.json" ]; then
		(cd "$here/peers" && npm ci --no-audit --no-fund) >&2
	fi
fi

# every stream is a socket in the client, the server and the upstream
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then
	ulimit -n 65536
else
	ulimit -n "$hard"
fi
[ "$(ulimit -n)" -ge 2048 ] ||
    { echo "$0: ulimit -n is $(ulimit -n), need 2048" >&2; exit 1; }

# A burst of N connects on loopback needs queues of N: the listen queue
# (somaxconn), the SYN queue (tcp_max_syn_backlog) and the per-CPU input
# queue every loopback packet passes (netdev_max_backlog, 1000 by
# default). A packet dropped there is a SYN retried after 1, 3, 7, 15 s:
# the floor itself then misses the first-byte target. Said, not changed.
if [ -n "$streams" ]; then
	n=
	for a; do
		[ "$n" = next ] && { n=$a; break; }
		[ "$a" = --streams ] && n=next
	done
	for k in net/core/somaxconn net/ipv4/tcp_max_syn_backlog \
	    net/core/netdev_max_backlog; do
		v=$(cat "/proc/sys/$k" 2>/dev/null || echo "$n")
		[ "$v" -ge "$n" ] 2>/dev/null ||
		    echo "$0: warning: $(echo "$k" | tr / .) is $v, below $n" \
			"streams: connects will be dropped and retried" \
			"(sysctl -w $(echo "$k" | tr / .)=$((n * 2)))" >&2
	done
fi

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

python3 "$here/bench.py" --binary "$bin" --pgid-file "$pgids" \
    --tools "$here/build" "$@" &
pid=$!
if wait "$pid"; then rc=0; else rc=$?; fi
pid=
exit "$rc"
