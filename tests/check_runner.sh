#!/bin/sh
# tests/run_tests.sh gives each suite a timeout: a suite that hangs is
# killed, named and counted as failed, and the suites after it still run.
# The 1 s limit is the behaviour under test (the hanging program waits for
# a signal that only the timeout sends).
B=${B:-build}
out=$(SUITE_TIMEOUT=1 sh tests/run_tests.sh "$B/tests/progs/hang" "$(command -v true)" 2>&1)
rc=$?
fail() { echo "check_runner: $*"; echo "$out" | sed 's/^/  | /'; echo "check_runner: 0 passed, 1 failed"; exit 1; }
[ "$rc" -ne 0 ] || fail "a hanging suite did not fail the run"
echo "$out" | grep -q "== hang: timed out after 1 s (SUITE_TIMEOUT), killed" || fail "the hanging suite was not named"
echo "$out" | grep -q "^suites: 1 passed, 1 failed$" || fail "the summary is wrong"
echo "check_runner: a hanging suite is killed after SUITE_TIMEOUT and counted as failed"
