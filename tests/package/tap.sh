# shellcheck shell=bash
# tap.sh: TAP output for the package tests (bash; sourced).
# ok/not_ok/skip DESC [WHY] print one test line; check DESC CMD... makes one
# from a command's status, its output becoming diagnostics when it fails;
# finish prints the plan and exits non-zero when a check failed.
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | tail -n 40 | diag
	fi
	return 0
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ] || echo "# $failed of $n checks failed"
	exit $((failed > 0))
}
