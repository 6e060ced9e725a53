#!/bin/sh
# Run every test binary given; print one summary line at the end.
# Each suite's own output (cmocka) is shown as it runs.
passed=0
failed=0
failed_names=""
for t in "$@"; do
	echo "== $(basename "$t")"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $(basename "$t")"
	fi
done
[ -n "$failed_names" ] && echo "failed suites:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
