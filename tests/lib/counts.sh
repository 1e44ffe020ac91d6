# counts.sh: how tests/run.sh turns a runner's output into its counts.
# Sourced (POSIX sh). Each function prints "PASSED FAILED SKIPPED".
#
# A run that exits non-zero without a single failure counted is one
# failure: a crash, a deadline, a runner that printed nothing must never
# read as "0 failed". Skipped tests are counted apart, never as passes.

# count_node LOG STATUS: node's test runner (--test-reporter=tap). Its
# summary has "# pass", "# fail", "# cancelled" (a test still running at
# its timeout, or cut short with its parent: a hang, so a failure),
# "# skipped" and "# todo" (not run: skipped).
count_node() {
	awk -v rc="$2" '
		/^# pass [0-9]+$/      { p = $3; seen = 1 }
		/^# fail [0-9]+$/      { f = $3 }
		/^# cancelled [0-9]+$/ { c = $3 }
		/^# skipped [0-9]+$/   { s = $3 }
		/^# todo [0-9]+$/      { t = $3 }
		END {
			f += c
			if (!seen || (rc != 0 && f == 0)) f = f > 0 ? f : 1
			print p + 0, f + 0, s + t
		}' "$1"
}

# count_tap LOG STATUS: plain TAP ("ok N - ...", "not ok N - ...",
# "ok N - ... # SKIP why"), top level only.
count_tap() {
	awk -v rc="$2" '
		/^ok / && /# [Ss][Kk][Ii][Pp]/ { s++; next }
		/^ok /                         { p++ }
		/^not ok /                     { f++ }
		END {
			if (rc != 0 && f == 0) f = 1
			print p + 0, f + 0, s + 0
		}' "$1"
}
