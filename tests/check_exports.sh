#!/bin/sh
# The shared library exports the public API (stp_*, not stp__*) and
# nothing else. Prints the strays and fails when there are any.
lib=${1:?usage: check_exports.sh path/to/libstepper.so}
strays=$(nm -D --defined-only "$lib" | awk '{print $3}' |
	grep -v '^stp_' ; nm -D --defined-only "$lib" | awk '{print $3}' | grep '^stp__')
count=$(nm -D --defined-only "$lib" | awk '$3 ~ /^stp_/' | wc -l)
if [ -n "$strays" ]; then
	echo "check_exports: $lib exports symbols outside the public API:"
	echo "$strays" | sed 's/^/  /'
	echo "check_exports: 0 passed, 1 failed"
	exit 1
fi
echo "check_exports: $count public symbols, no strays"
