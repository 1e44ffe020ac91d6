#!/bin/sh
# tests/fuzz/run.sh: build the libFuzzer targets and run each for a bounded
# time, after replaying every saved crash input as a regression test.
#
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 30)
#        FUZZ_TARGETS="http stream" tests/fuzz/run.sh 600   (a subset)
#        FUZZ_CORPUS=/some/dir tests/fuzz/run.sh    (keep the corpus there,
#                                  one subdirectory per target, across runs)
#
# Build directory: build-fuzz/ at the top (clang, ASan + UBSan, -Dfuzz=true).
# Seeds: tests/fuzz/corpus/<target>/ plus the unit-test fixtures.
# Regressions: tests/data/fuzz-regressions/<target>/*, each run once.
# Crash inputs are kept in build-fuzz/fuzz-artifacts/<target>/.
# Output: TAP, one line per target for the regressions and one for the
# fuzzing; exit status 1 when anything crashed, leaked, hung or broke a
# check, 2 when the build could not be made.
set -u
secs=${1:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
fuzzdir=$top/tests/fuzz
data=$top/tests/data
build=$top/build-fuzz
targets=${FUZZ_TARGETS:-http chunked stream xlate conf resp}

case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- clang with the libFuzzer runtime ----------------------------------------
have_libfuzzer() {
	command -v clang >/dev/null 2>&1 || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	    '{ (void)d; (void)n; return 0; }' >"$tmp/probe.c"
	clang -fsanitize=fuzzer,address "$tmp/probe.c" -o "$tmp/probe" \
	    >/dev/null 2>&1
}
if ! have_libfuzzer; then
	echo "# installing clang and libclang-rt-14-dev" >&2
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq >&2 &&
	    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    clang libclang-rt-14-dev >&2
	if ! have_libfuzzer; then
		echo "Bail out! clang cannot link -fsanitize=fuzzer"
		exit 2
	fi
fi

# --- the build ---------------------------------------------------------------
setup() {
	CC=clang meson setup "$build" -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >"$tmp/setup.log" 2>&1
}
# --reconfigure, not configure: a build dir made before a target was added
# must learn of it (meson compile names targets from the last setup)
if [ -f "$build/build.ninja" ] &&
    meson setup --reconfigure "$build" -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false >"$tmp/setup.log" 2>&1
then
	:
else
	# not ours, or made with another compiler: start over
	rm -rf "$build"
	if ! setup; then
		sed 's/^/# /' "$tmp/setup.log"
		echo "Bail out! meson setup of $build failed"
		exit 2
	fi
fi
names=
for t in $targets; do names="$names fuzz_$t"; done
# shellcheck disable=SC2086
if ! meson compile -C "$build" $names >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" | sed 's/^/# /'
	echo "Bail out! building the fuzz targets failed"
	exit 2
fi

# --- seeds -------------------------------------------------------------------
seed() {	# $1 = target, rest = files or directories
	t=$1; shift
	for s in "$@"; do
		if [ -d "$s" ]; then
			find "$s" -maxdepth 1 -type f -exec cp {} "$corpus/$t/" \;
		elif [ -f "$s" ]; then
			cp "$s" "$corpus/$t/"
		fi
	done
}
corpus=${FUZZ_CORPUS:-$tmp/corpus}
for t in $targets; do
	mkdir -p "$corpus/$t"
	seed "$t" "$fuzzdir/corpus/$t"
	case $t in
	stream)	seed "$t" "$data"/stream/*.upstream.sse ;;
	xlate)	seed "$t" "$data"/xlate_req/*.in.json \
		    "$data"/xlate_resp/*.in.json ;;
	resp)	seed "$t" "$data"/resp_stream/*.upstream.sse \
		    "$data"/resp_resp/*.in.json "$data"/resp_req/*.in.json \
		    "$data"/xlate_req/*.in.json "$data"/schema/*.in.json ;;
	conf)	seed "$t" "$data"/conf "$top/config.json.example"
		# the same with secrets the target's environment has
		sed 's/"env:[A-Za-z_]*"/"env:FUZZ_KEY"/' \
		    "$top/config.json.example" >"$corpus/$t/config.json.env" ;;
	esac
done

dict_for() {
	case $1 in
	http|chunked)	echo "$fuzzdir/http.dict" ;;
	stream)		echo "$fuzzdir/sse.dict" ;;
	*)		echo "$fuzzdir/json.dict" ;;
	esac
}

# --- run ---------------------------------------------------------------------
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# what a crash log says, as TAP comments: the broken check or sanitizer
# report, and the stack without libFuzzer's and libc's frames
diag() {
	grep -a -E 'check failed|runtime error|ERROR: |SUMMARY: |Test unit|#[0-9]+ 0x[0-9a-f]+ in ' "$1" |
	    grep -a -v -E 'fuzzer::|__sanitizer|__interceptor|__ubsan|ubsan_|__asan|asan_|libc\.so|libc_start|_start | in main |raise |abort |pthread_kill' |
	    sed -e 's/ (BuildId: [0-9a-f]*)//' -e 's/^/# /' | head -n "${2:-30}"
}

common="-timeout=10 -rss_limit_mb=2048"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

for t in $targets; do
	exe=$build/tests/fuzz/fuzz_$t
	arts=$build/fuzz-artifacts/$t
	mkdir -p "$arts"

	# every saved crash input, one at a time, so the failing one is named
	reg=$data/fuzz-regressions/$t
	count=0 bad=
	: >"$tmp/reg.diag"
	if [ -d "$reg" ]; then
		for f in "$reg"/*; do
			[ -f "$f" ] || continue
			count=$((count + 1))
			# shellcheck disable=SC2086
			if ! "$exe" $common "$f" >"$tmp/reg.log" 2>&1; then
				bad="$bad ${f#"$top"/}"
				echo "# ${f#"$top"/}:" >>"$tmp/reg.diag"
				diag "$tmp/reg.log" 12 >>"$tmp/reg.diag"
			fi
		done
	fi
	if [ "$count" -eq 0 ]; then
		ok "regressions $t # SKIP no saved inputs"
	elif [ -n "$bad" ]; then
		notok "regressions $t: crashed on$bad"
		cat "$tmp/reg.diag"
	else
		ok "regressions $t ($count inputs, no crash)"
	fi

	[ "$secs" -gt 0 ] || continue
	log=$tmp/fuzz-$t.log
	# shellcheck disable=SC2086
	"$exe" $common -max_total_time="$secs" -print_final_stats=1 \
	    -dict="$(dict_for "$t")" -artifact_prefix="$arts/" \
	    "$corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1)
	input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$input" ]; then
		ok "fuzz $t (${runs:-0} runs, no crash)"
		echo "# fuzz_$t: ${rate:-?} runs/s, ${cov:-cov: ?}," \
		    "$(find "$corpus/$t" -type f | wc -l) corpus files"
	else
		notok "fuzz $t: ${input:-exit status $rc}"
		diag "$log" 40
		[ -n "$input" ] && echo "# replay: $exe ${input}" &&
		    echo "# minimise: $exe -minimize_crash=1 -runs=100000" \
		    "-exact_artifact_path=$arts/minimised $input"
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
