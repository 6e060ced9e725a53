#!/bin/sh
# Every function or variable that a file of the library or the CLI shares
# with other files is declared in a header, never re-declared in a .c file
# (a local re-declaration can drift from the definition, and once dropped a
# format attribute). Checked from the objects: each global symbol defined
# in build/obj must be named in some .h file of the tree.
B=${B:-build}
headers=$(find stepper scheduler probe barrier traces -name '*.h')
strays=""
for o in $(find "$B/obj" -name '*.o'); do
	for sym in $(nm --defined-only -g "$o" | awk '$2 ~ /^[TDBRV]$/ {print $3}'); do
		[ "$sym" = main ] && continue
		# AddressSanitizer's ODR indicator of a global (the global itself
		# is checked under its own name)
		case $sym in __odr_asan.*) continue ;; esac
		grep -qw -- "$sym" $headers || strays="$strays
  $sym (defined in ${o#$B/obj/})"
	done
done
# A prototype or extern at file scope of a .c file (a line at column 0 that
# is not static and ends a declaration) re-declares what a header says.
for f in $(find stepper scheduler probe barrier traces -name '*.c'); do
	lines=$(grep -nE '^(extern |[A-Za-z_][A-Za-z0-9_ *]*[ *][a-z_][a-z0-9_]*\()' "$f" |
		grep -vE '^[0-9]+:(static|typedef) ' | grep -E ';\s*$|^[0-9]+:extern ' |
		grep -v 'extern char \*\*environ;')
	[ -n "$lines" ] && strays="$strays
$(echo "$lines" | sed "s|^|  $f:|")"
done
if [ -n "$strays" ]; then
	echo "check_prototypes: shared symbols declared in no header:$strays"
	echo "check_prototypes: 0 passed, 1 failed"
	exit 1
fi
echo "check_prototypes: every shared symbol is declared in a header"
