#!/bin/sh
# Builds Benchmarks/kernel_compare.c against the kernels of the work tree ("new") and those of a
# git revision ("old", default HEAD), then runs it with the remaining arguments:
#
#   sh Benchmarks/scripts/kernel_compare.sh [--rev REV] check [MODELS]
#       bitwise equality of old and new, single and batched, on random models of every type pair
#       and every path this CPU supports (exit status 1 on any difference)
#   sh Benchmarks/scripts/kernel_compare.sh [--rev REV] time 784 10 4 8 8 2 f32 f16/f16
#       old and new interleaved, median µs per record and median ratio old / new
#
# Extra compiler flags for the new kernels (for experiments): NEW_CFLAGS="-DTILE_RB=8".
# Run from anywhere inside the repository; builds in a temporary directory.
set -eu
rev=HEAD
if [ "${1:-}" = "--rev" ]; then rev=$2; shift 2; fi
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old/include"
for f in driver.h activation.h convert.h kernels_portable.c kernels_avx2.c kernels_avx512.c include/CFFFKernels.h; do
    git -C "$root" show "$rev:Sources/CFFFKernels/$f" > "$tmp/old/$f"
done
for f in kernels_portable.c kernels_avx2.c kernels_avx512.c; do
    # the exported names get an _old suffix (FFF_SUFFIX), the unsuffixed helpers another name
    sed -i 's/^#define FFF_SUFFIX \(.*\)$/#define FFF_SUFFIX \1_old/' "$tmp/old/$f"
done
S="$root/Sources/CFFFKernels"
CC=${CC:-clang}
for f in kernels_portable.c kernels_avx2.c kernels_avx512.c; do
    $CC -O2 -c -I"$tmp/old/include" -I"$tmp/old" -Dfff_float16_to_float32=old_fff_float16_to_float32 \
        -Dfff_bfloat16_to_float32=old_fff_bfloat16_to_float32 "$tmp/old/$f" -o "$tmp/old_$f.o"
done
$CC -O2 ${NEW_CFLAGS:-} -I"$S/include" -I"$S" "$root/Benchmarks/kernel_compare.c" "$S"/kernels*.c "$tmp"/old_*.o \
    -lm -o "$tmp/kernel_compare"
"$tmp/kernel_compare" "$@"
