#!/usr/bin/env bash
# The C API test: builds libfastfeedforward_c (the `fastfeedforward_c` product), compiles
# Tests/CAPI/capi_test.c against Sources/CFastFeedforward/include/fastfeedforward.h with
# -std=c11 -Wall -Wextra -Werror, links it to the library, and runs it on the repository's
# fixtures (prepared by Tests/CAPI/prepare.py) and, when ../shared (or $FFF_SHARED_DIR) has them,
# on the paper's three MNIST checkpoints converted by tools/fff-convert. Then the golden and model
# tests again with FFF_KERNEL=portable, and README's example client (Examples/CAPI). Needs python3
# with numpy (tools/requirements.txt).
#
#   bash Tests/CAPI/run.sh [--scratch-path DIR] [-c debug|release] [--sanitize address] [--no-build]
#
#   --scratch-path DIR   the SwiftPM build folder of the library (default .build)
#   -c CONFIGURATION     debug (default) or release
#   --sanitize address   build the library with AddressSanitizer (use its own scratch path, e.g.
#                        .build-asan) and compile the test with -fsanitize=address, with the
#                        toolchain's clang so that both use the same ASan runtime
#   --no-build           use the library already in the build folder
#
# Ends with "C API: N passed, F failed, S skipped"; exits 1 when a test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

scratch=.build
configuration=debug
sanitize=
build=1
while (($#)); do
    case "$1" in
        --scratch-path) scratch=${2:?}; shift 2 ;;
        -c|--configuration) configuration=${2:?}; shift 2 ;;
        --sanitize) sanitize=${2:?}; shift 2 ;;
        --sanitize=*) sanitize=${1#--sanitize=}; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
done

swift_flags=(--scratch-path "$scratch" -c "$configuration")
cc=${CC:-cc}
cflags=(-std=c11 -Wall -Wextra -Werror -O1 -g)
case "$sanitize" in
    "") ;;
    address)
        swift_flags+=(--sanitize=address)
        cc="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
        cflags+=(-fsanitize=address -fno-omit-frame-pointer -fuse-ld=lld)
        export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
        export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/.ci/lsan.supp:print_suppressions=0}
        ;;
    *) echo "run.sh: --sanitize takes address only" >&2; exit 64 ;;
esac

if ((build)); then
    swift build --product fastfeedforward_c "${swift_flags[@]}"
fi
libdir=$(swift build "${swift_flags[@]}" --show-bin-path)
if [[ ! -f $libdir/libfastfeedforward_c.so ]]; then
    echo "run.sh: no $libdir/libfastfeedforward_c.so (build it, or drop --no-build)" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
include=Sources/CFastFeedforward/include

# The header alone: strict C99 and C11, and C++ when there is a C++ compiler.
printf '#include <fastfeedforward.h>\nint main(void) { return fff_abi_version() == FFF_ABI_VERSION ? 0 : 1; }\n' >"$work/header.c"
for std in c99 c11; do
    "$cc" -std=$std -pedantic -Wall -Wextra -Werror -fsyntax-only -I "$include" "$work/header.c"
done
if command -v c++ >/dev/null; then
    c++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I "$include" "$work/header.c"
fi

# The test program, linked as README's "C API" section says.
"$cc" "${cflags[@]}" -I "$include" Tests/CAPI/capi_test.c -o "$work/capi_test" \
    -L "$libdir" -lfastfeedforward_c -Wl,-rpath,"$libdir" -rdynamic -pthread -lm
echo "capi_test: $cc, ${cflags[*]}, against $libdir/libfastfeedforward_c.so"

python3 Tests/CAPI/prepare.py "$root" "$work/data"

# The paper's checkpoints, when the shared data is there.
shared=${FFF_SHARED_DIR:-$root/../shared}
mnist_args=()
if [[ -f $shared/data/mnist/t10k-images-idx3-ubyte.gz && -f $shared/data/mnist/t10k-labels-idx1-ubyte.gz \
      && -d $shared/data/paper-checkpoints ]]; then
    mkdir "$work/mnist"
    gzip -dc "$shared/data/mnist/t10k-images-idx3-ubyte.gz" >"$work/mnist/t10k-images-idx3-ubyte"
    gzip -dc "$shared/data/mnist/t10k-labels-idx1-ubyte.gz" >"$work/mnist/t10k-labels-idx1-ubyte"
    for name in lb_mnist_l8_d1 ml_mnist_l2_d3 ml_mnist_l4_d2; do
        python3 tools/fff-convert "$shared/data/paper-checkpoints/$name.pt" -o "$work/mnist/$name.fff" \
            --input-scale 0.00784313725490196 --input-offset -1 -q
    done
    mnist_args=(--mnist "$work/mnist")
else
    reason="shared MNIST data not found at \$FFF_SHARED_DIR or ../shared ($shared): MNIST through the C API skipped"
    echo "$reason"
    mnist_args=(--no-mnist "$reason")
fi

passed=0 failed=0 skipped=0
status=0
# One check of this script: prints ok or FAILED with what, and counts it.
result() {
    if (($1 == 0)); then
        echo "ok      $2"
        passed=$((passed + 1))
    else
        echo "FAILED  $2"
        failed=$((failed + 1)) status=1
    fi
}

# Every function the header declares is exported by the library (in this configuration: Swift
# keeps non-public @_cdecl functions out of release builds).
printf '\n-- exports of libfastfeedforward_c.so\n'
declared=$(sed -n 's/^[a-z].*[ *]\(fff_[a-z0-9_]*\)(.*/\1/p' "$include/fastfeedforward.h")
exported=$(nm -D --defined-only "$libdir/libfastfeedforward_c.so" | awk '$2 == "T" { print $3 }')
missing=$(comm -23 <(sort <<<"$declared") <(sort <<<"$exported") | tr '\n' ' ')
result "$([[ -z $missing ]]; echo $?)" "exports: the $(wc -l <<<"$declared") functions of fastfeedforward.h${missing:+; missing: $missing}"
tally() {
    local line
    line=$(grep '^capi: ' "$1" | tail -1)
    [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]] || { echo "run.sh: no summary in the output" >&2; status=1; return; }
    passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2])) skipped=$((skipped + BASH_REMATCH[3]))
}

printf '\n-- capi_test (kernel: %s)\n' "${FFF_KERNEL:-best for this CPU}"
"$work/capi_test" "$work/data" "${mnist_args[@]}" | tee "$work/run1.log" || status=1
tally "$work/run1.log"

# Through the portable kernel too (FFF_KERNEL, read when a model loads).
printf '\n-- capi_test (FFF_KERNEL=portable)\n'
FFF_KERNEL=portable "$work/capi_test" "$work/data" --only demo,golden-float32,golden-compact,model-info \
    | tee "$work/run2.log" || status=1
tally "$work/run2.log"

# README's example client, compiled and linked as README's "C API" section does.
printf '\n-- Examples/CAPI/classify_record.c\n'
"$cc" "${cflags[@]}" -I "$include" Examples/CAPI/classify_record.c -o "$work/classify_record" \
    -L "$libdir" -lfastfeedforward_c -Wl,-rpath,"$libdir"
"$work/classify_record" fixtures/demo/digits.fff "$(head -1 fixtures/demo/digits-test.csv)" >"$work/example.log" || true
grep -q '^class: 7 (index 7)$' "$work/example.log" && grep -q '^leaf: 3 of 8$' "$work/example.log" || cat "$work/example.log"
result "$(grep -q '^class: 7 (index 7)$' "$work/example.log" && grep -q '^leaf: 3 of 8$' "$work/example.log"; echo $?)" \
    "example: the demo's first test record is class 7 (index 7) at leaf 3 of 8"

echo "C API: $passed passed, $failed failed, $skipped skipped"
exit "$status"
