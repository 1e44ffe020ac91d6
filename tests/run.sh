#!/bin/sh
# Installs what the test suite needs, builds claude-proxy twice (plain and
# with AddressSanitizer + UndefinedBehaviorSanitizer) and runs everything:
# the unit tests (TAP), the integration tests against the real binary, the
# official Anthropic SDK and Claude Code; as root also the packages and the
# packaged service under systemd. Ends with "N passed, N failed, N skipped"
# and exits non-zero on any failure: a failed test, a test node cancelled
# (one that ran past its timeout), a runner that exited non-zero or said
# nothing. Skipped tests are counted apart, never as passed.
#
# Usage: tests/run.sh            (from anywhere; uses ./build and ./build-asan)
#        SKIP_INSTALL=1 tests/run.sh   (dependencies already there)
#        SKIP_ASAN=1 tests/run.sh      (one build only, faster while hacking)
#        SKIP_FUZZ=1 tests/run.sh      (no fuzzing; FUZZ_SECONDS=N per target)
#        SKIP_PACKAGES=1 tests/run.sh  (no .deb/.rpm build, install and purge,
#                                       no systemd test; root only anyway)
#        SKIP_SYSTEMD=1 tests/run.sh   (packages, but not the service under
#                                       systemd in a container)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

APT_PACKAGES="gcc pkg-config meson ninja-build libcurl4-openssl-dev \
libjson-c-dev libbsd-dev libxml2-dev libhiredis-dev python3 nodejs npm mandoc \
curl redis-server logrotate"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {
	missing=""
	for p in $APT_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	# a node from elsewhere (nodesource, nvm) is fine too
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
	fi
	if [ -n "$missing" ]; then
		echo "== installing:$missing"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends $missing || exit 1
	fi
	echo "== npm ci (tests/)"
	npm ci --prefix tests --no-audit --no-fund --loglevel=error || exit 1
}

. "$top/tests/lib/counts.sh"

passed=0
failed=0
skipped=0

add() {	# add LABEL PASSED FAILED SKIPPED
	passed=$((passed + $2)); failed=$((failed + $3)); skipped=$((skipped + $4))
	echo "== $1: $2 passed, $3 failed, $4 skipped"
}

count_meson() {	# $1 = build dir, $2 = label: add its unit tests' TAP results
	label=$2
	set -- $(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    skip = len(re.findall(r"^ok .*# skip", out, re.M | re.I))
    ok = len(re.findall(r"^ok ", out, re.M)) - skip
    nok = len(re.findall(r"^not ok ", out, re.M))
    if t.get("result") == "SKIP" and ok + nok + skip == 0:
        skip = 1       # a whole test program skipped
    elif t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and nok == 0:
        nok = 1        # crashed or timed out without saying why
    p += ok; f += nok; s += skip
print(p, f, s)
PY
)
	add "$label" "$1" "$2" "$3"
}

run_unit() {	# $1 = build dir, $2 = label
	meson test -C "$1" --suite unit --print-errorlogs >"$1/unit.log" 2>&1
	tail -n 15 "$1/unit.log"
	count_meson "$1" "$2"
}

run_node() {	# $1 = binary, $2 = label, $3... = test files
	bin=$1; label=$2; shift 2
	log="$top/build/node-$label.tap"
	CLAUDE_PROXY_BIN="$bin" node tests/integration/run.mjs "$@" >"$log" 2>&1
	rc=$?
	grep -E '^not ok|^# (pass|fail|cancelled|skipped)' "$log" | tail -n 40
	[ "$rc" -eq 0 ] || echo "== $label: the runner exited with status $rc"
	# shellcheck disable=SC2046
	add "$label" $(count_node "$log" "$rc")
}

run_tap() {	# $1 = label, rest = a command that prints TAP
	label=$1; shift
	log="$top/build/tap-$label.log"
	"$@" >"$log" 2>&1
	rc=$?
	grep -E '^not ok|^ok .*# [Ss][Kk][Ii][Pp]' "$log" | head -n 20
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		tail -n 20 "$log"
	fi
	# shellcheck disable=SC2046
	add "$label" $(count_tap "$log" "$rc")
}

build() {	# $1 = dir, rest = meson options
	dir=$1; shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi && ninja -C "$dir" >"$dir/ninja-build.log" 2>&1 || {
		tail -n 40 "$dir/ninja-build.log"
		echo "== build of $dir failed"
		return 1
	}
}

[ "${SKIP_INSTALL:-0}" = 1 ] || install_deps

if build build -Dwerror=true; then
	# this script's own counting: a hang must never read as a pass
	run_tap counts tests/test-counts.sh
	run_unit build unit
	run_node "$top/build/claude-proxy" integration
else
	failed=$((failed + 1))
fi

# libFuzzer targets, a bounded time each, after replaying every input that
# once crashed one (tests/data/fuzz-regressions)
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	run_tap fuzz tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi

# the packages are built, installed, used and purged for real: root only
if [ "${SKIP_PACKAGES:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
	run_tap packages tests/package/test-packages.sh
	# the .deb as a service under systemd, in a container (skips itself
	# where systemd-nspawn cannot run; the first run builds its root)
	[ "${SKIP_SYSTEMD:-0}" = 1 ] ||
	    run_tap systemd tests/package/test-systemd.sh
fi

if [ "${SKIP_ASAN:-0}" != 1 ]; then
	if build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		run_unit build-asan unit-asan
		run_node "$top/build-asan/claude-proxy" integration-asan
	else
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
