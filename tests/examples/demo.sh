#!/bin/sh
# make demo: the bank-transfer example, end to end, then the same from CI's
# side with the stepper command.
B=${B:-build}
"$B/examples/bank" demo || exit 1

dir=build/demo-traces
rm -rf "$dir"
echo
echo "4. In CI: stepper run, one process per seed, 500 seeds:"
echo "\$ stepper run -n 500 --trace-dir $dir -- $B/examples/bank racy"
"$B/bin/stepper" run -n 500 --trace-dir "$dir" -- "$B/examples/bank" racy
[ $? -eq 1 ] || { echo "demo: expected failing seeds"; exit 1; }

# this invocation's folder: $dir/run-YYYYMMDD-HHMMSS-PID
run=$(ls -d "$dir"/run-* | head -1)
first=$(ls "$run" | sed -n 's/^seed-\([0-9]*\)\.json$/\1/p' | sort -n | head -1)
echo
echo "5. On your desk: replay the first failing seed from its trace:"
echo "\$ stepper replay $run/seed-$first.json -- $B/examples/bank racy"
"$B/bin/stepper" replay "$run/seed-$first.json" -- "$B/examples/bank" racy

# an unmodified program: no STEP, no stepper header, plain cc -pthread
adir=build/demo-traces-auto
rm -rf "$adir"
echo
echo "6. A program nobody annotated (tests/auto/abba_bug.c, plain cc -pthread),"
echo "   every pthread call a point (--auto), 200 seeds:"
echo "\$ stepper run --auto -n 200 --trace-dir $adir -- $B/tests/auto/abba_bug"
"$B/bin/stepper" run --auto -n 200 --trace-dir "$adir" -- "$B/tests/auto/abba_bug" |
	sed -n '1,5p'
arun=$(ls -d "$adir"/run-* | head -1)
afirst=$(ls "$arun" | sed -n 's/^seed-\([0-9]*\)\.log$/\1/p' | sort -n | head -1)
[ -n "$afirst" ] || { echo "demo: expected a deadlock"; exit 1; }
echo "\$ head -8 $arun/seed-$afirst.log"
head -8 "$arun/seed-$afirst.log"
