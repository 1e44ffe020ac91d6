#!/bin/sh
# Installs what the test suite needs, builds claude-proxy twice (plain and
# with AddressSanitizer + UndefinedBehaviorSanitizer) and runs everything:
# the unit tests (TAP), the integration tests against the real binary, the
# official Anthropic SDK and Claude Code. Ends with "N passed, N failed" and
# exits non-zero on any failure.
#
# Usage: tests/run.sh            (from anywhere; uses ./build and ./build-asan)
#        SKIP_INSTALL=1 tests/run.sh   (dependencies already there)
#        SKIP_ASAN=1 tests/run.sh      (one build only, faster while hacking)
#        SKIP_FUZZ=1 tests/run.sh      (no fuzzing; FUZZ_SECONDS=N per target)
#        SKIP_PACKAGES=1 tests/run.sh  (no .deb/.rpm build, install and purge;
#                                       they only run as root anyway)
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

passed=0
failed=0

count_meson() {	# $1 = build dir, $2 = label: add its unit tests' TAP results
	label=$2
	set -- $(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, re, sys
p = f = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    ok = len(re.findall(r"^ok ", out, re.M))
    nok = len(re.findall(r"^not ok ", out, re.M))
    if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and nok == 0:
        nok = 1        # crashed or timed out without saying why
    p += ok; f += nok
print(p, f)
PY
)
	passed=$((passed + $1)); failed=$((failed + $2))
	echo "== $label: $1 passed, $2 failed"
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
	grep -E '^not ok|^# (pass|fail)' "$log" | tail -n 40
	p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -n 1)
	[ -n "$p" ] || { p=0; f=1; echo "== $label: the runner said nothing"; }
	passed=$((passed + p)); failed=$((failed + ${f:-1}))
	echo "== $label: $p passed, ${f:-1} failed"
}

run_tap() {	# $1 = label, rest = a command that prints TAP
	label=$1; shift
	log="$top/build/tap-$label.log"
	"$@" >"$log" 2>&1
	rc=$?
	grep -E '^not ok' "$log" | head -n 20
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		tail -n 20 "$log"
	fi
	passed=$((passed + p)); failed=$((failed + f))
	echo "== $label: $p passed, $f failed"
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
