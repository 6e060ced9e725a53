#!/bin/sh
# make demo: the bank-transfer example, end to end.
set -e
B=${B:-build}
"$B/examples/bank" demo
