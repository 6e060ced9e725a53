#!/bin/sh
# Run every test binary given, each under a timeout, so a hung suite fails
# instead of stalling CI; print one summary line at the end.
# Each suite's own output (cmocka) is shown as it runs.
#   SUITE_TIMEOUT  seconds a suite may take (default 300; 900 under
#                  SAN=thread, which runs the suites several times slower)
if [ -z "$SUITE_TIMEOUT" ]; then
	SUITE_TIMEOUT=300
	[ "$SAN" = thread ] && SUITE_TIMEOUT=900
fi
# ThreadSanitizer sleeps a second in every process's exit by default, to
# catch races at exit; the suites' children would each pay it.
[ "$SAN" = thread ] && export TSAN_OPTIONS="atexit_sleep_ms=0${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
# Every decision checks the decider's blocked set against a full scan of
# the parked threads (online.c): a change the model failed to announce
# aborts the suite instead of quietly skipping a thread.
export STEPPER_CHECK_SETS=1
passed=0
failed=0
failed_names=""
for t in "$@"; do
	name=$(basename "$t")
	echo "== $name"
	# SIGTERM first; SIGKILL 10 s later if the suite ignores it.
	timeout -k 10 "$SUITE_TIMEOUT" "$t"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		continue
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "== $name: timed out after $SUITE_TIMEOUT s (SUITE_TIMEOUT), killed"
	else
		echo "== $name: exit status $rc"
	fi
	failed=$((failed + 1))
	failed_names="$failed_names $name"
done
[ -n "$failed_names" ] && echo "failed suites:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
