#!/bin/sh
# test-counts.sh: tests/lib/counts.sh against the outputs that once read as
# success: node's "# cancelled" for a hung test, a runner killed before its
# summary, skipped tests counted as passes (issue 10). Also runs node on a
# test that hangs past its timeout, so the real summary is what is read.
# Prints TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/counts.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-counts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
is() {	# is GOT WANT DESC
	n=$((n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3 (got '$1', want '$2')"
		fails=$((fails + 1))
	fi
}

printf '%s\n' 'ok 1 - a' 'not ok 2 - b' '1..2' '# tests 3' '# pass 1' \
    '# fail 0' '# cancelled 2' '# skipped 1' '# todo 0' >"$tmp/cancelled"
is "$(count_node "$tmp/cancelled" 1)" "1 2 1" "node: cancelled tests are failures, skipped apart"
printf '%s\n' '# pass 5' '# fail 0' '# cancelled 0' '# skipped 2' '# todo 1' >"$tmp/clean"
is "$(count_node "$tmp/clean" 0)" "5 0 3" "node: a clean run; skipped and todo are not passes"
is "$(count_node "$tmp/clean" 1)" "5 1 3" "node: a non-zero exit with nothing failed is a failure"
printf 'ok 1 - a\n' >"$tmp/nosummary"
is "$(count_node "$tmp/nosummary" 137)" "0 1 0" "node: killed before its summary is a failure"
: >"$tmp/empty"
is "$(count_node "$tmp/empty" 0)" "0 1 0" "node: a runner that said nothing is a failure"

printf '%s\n' 'ok 1 - a' 'ok 2 - b # SKIP no nspawn' 'ok 3 - c # skip' \
    'not ok 4 - d' '    ok 1 - nested' '1..4' >"$tmp/tap"
is "$(count_tap "$tmp/tap" 1)" "1 1 2" "tap: SKIP directives are skipped, nested lines not counted"
printf 'ok 1 - a\n' >"$tmp/tapcrash"
is "$(count_tap "$tmp/tapcrash" 2)" "1 1 0" "tap: a non-zero exit with nothing failed is a failure"

# the real thing: node reports a hung test as cancelled, exits 1
if command -v node >/dev/null 2>&1; then
	cat >"$tmp/hang.test.mjs" <<'JS'
import { test } from 'node:test';
test('passes', () => {});
test('skipped', { skip: 'on purpose' }, () => {});
test('hangs', { timeout: 200 }, () => new Promise(() => {}));
JS
	node --test --test-reporter=tap --test-force-exit "$tmp/hang.test.mjs" >"$tmp/hang.tap" 2>&1
	rc=$?
	set -- $(count_node "$tmp/hang.tap" "$rc")
	is "$1 $3" "1 1" "node, for real: one pass, one skip"
	n=$((n + 1))
	if [ "$2" -ge 1 ]; then
		echo "ok $n - node, for real: a test past its timeout counts as failed ($2)"
	else
		echo "not ok $n - node, for real: a test past its timeout counts as failed"
		fails=$((fails + 1))
		sed 's/^/# /' "$tmp/hang.tap" | tail -n 12
	fi
fi
echo "1..$n"
[ "$fails" -eq 0 ]
