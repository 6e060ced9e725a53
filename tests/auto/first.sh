#!/bin/bash
# first.sh STRATEGY PROG: run build/tests/auto/PROG under libstepper-auto.so for seeds
# 1..200 with STRATEGY; print the first failing seed and how many of the 200 fail.
# (B=build/san-... for another build.)
st=$1; p=$2; first=""; fails=0
for s in $(seq 1 200); do
  env STEPPER_STRATEGY=$st STEPPER_SEED=$s STEPPER_AUTO=1 LD_PRELOAD=$PWD/${B:-build}/lib/libstepper-auto.so ${B:-build}/tests/auto/$p > /dev/null 2>&1
  if [ $? != 0 ]; then fails=$((fails+1)); [ -z "$first" ] && first=$s; fi
done
echo "$st $p first=${first:-none} fails=$fails/200"
