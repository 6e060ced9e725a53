#!/bin/sh
# No function of the library or the CLI is longer than 70 lines (a
# function a reader can hold at once). Counted from a definition's first
# line at column 0 to its closing brace at column 0.
limit=70
long=$(for f in $(find stepper scheduler probe barrier traces -name '*.c' | sort); do
	awk -v F="$f" -v L=$limit '
		/^[A-Za-z_].*\(/ && !/;[ \t]*$/ { name = $0; start = NR }
		/^}/ && start { n = NR - start + 1; if (n > L) printf "  %s:%d: %d lines: %s\n", F, start, n, name; start = 0 }
	' "$f"
done)
if [ -n "$long" ]; then
	echo "check_sizes: functions over $limit lines:"
	echo "$long"
	echo "check_sizes: 0 passed, 1 failed"
	exit 1
fi
echo "check_sizes: no function over $limit lines"
