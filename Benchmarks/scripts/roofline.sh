#!/bin/sh
# Builds and runs Benchmarks/roofline.c: the machine's own limits (fp32 multiply-add peak per
# kernel path, L1 and L2 read bandwidth) and the kernels as fractions of their bounds, all in one
# process and interleaved (see the comment at the top of roofline.c).
#
#   sh Benchmarks/scripts/roofline.sh              # 11 rounds, all shapes (about 1 to 2 minutes)
#   sh Benchmarks/scripts/roofline.sh 5 paper      # 5 rounds, 784 -> 10 d4 l8 m8 only
#
# The kernels are compiled as SwiftPM compiles them (clang -O2, no extra flags).
set -eu
root=$(git rev-parse --show-toplevel)
S="$root/Sources/CFFFKernels"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
${CC:-clang} -O2 -I"$S/include" -I"$S" "$root/Benchmarks/roofline.c" "$S"/kernels*.c -lm -o "$out"
"$out" "$@"
