#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of fuzz/targets/ (see fuzz/README.md).
#
#   fuzz/run.sh list                       the targets
#   fuzz/run.sh TARGET SECONDS [FLAGS...]  build if needed, seed, fuzz for SECONDS, report
#   fuzz/run.sh TARGET build               (re)build the target only
#   fuzz/run.sh TARGET replay [FILES...]   run the target once on each file (default: every file
#                                          under fuzz/regressions/TARGET/); exit 1 if any fails
#   fuzz/run.sh TARGET minimize FILE [SECONDS]
#                                          -minimize_crash=1 on FILE (default 60 s); writes
#                                          FILE.min beside it
#   fuzz/run.sh model_reader differential [DIRS...]
#                                          Swift vs Python reader (tools/pyfff) verdicts on every
#                                          file (default: the corpus, seeds and regressions)
#
# Extra FLAGS go to libFuzzer as they are (for example -seed=1 or -only_ascii=1).
# Environment:
#   FUZZ_OUT=dir        work directory (default: <repo>/fuzz-out, git-ignored)
#   FUZZ_REBUILD=1      rebuild even if the binary is newer than its sources
#   FUZZ_KEEP_GOING=1   do not stop at the first crash (libFuzzer -fork=1 with one child and
#                       -ignore_crashes/-ignore_timeouts/-ignore_ooms)
#   FUZZ_VERBOSE=1      show libFuzzer's output while it runs (it is always in the log)
#   FFF_FUZZ_MAX_DECODED_MB  model_reader's decoded-payload budget (default 64; 4096 = library default)
#
# Everything runs under `nice -n 10`, one fuzzer process at a time.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${FUZZ_OUT:-$REPO/fuzz-out}"
SWIFTC="${SWIFTC:-swiftc}"
MAX_LEN=65536

# ---------------------------------------------------------------------------------------------
# Targets. To add one: a name in TARGETS, a case in target_sources (the Swift files compiled
# into one module with the entry point, plus swiftc flags), and a case in target_seeds (fills the
# seed directory given as $1). An optional dictionary is fuzz/<dict name>.dict (target_dict).

TARGETS=(model_reader records_text records_idx records_npy records_raw)

# Prints the swiftc inputs and flags of target $1, one per line.
target_sources() {
    case "$1" in
        model_reader)
            find "$REPO/Sources/FFFFormat" -name '*.swift' | sort
            echo "$REPO/fuzz/targets/Support.swift"
            echo "$REPO/fuzz/targets/model_reader.swift"
            echo "-I"; echo "$REPO/Sources/CZstd"; echo "-lzstd"
            ;;
        records_text|records_idx|records_npy|records_raw)
            find "$REPO/Sources/FFFRecords" -name '*.swift' | sort
            echo "$REPO/fuzz/targets/Support.swift"
            echo "$REPO/fuzz/targets/records.swift"
            echo "-D"; echo "FUZZ_$(echo "${1#records_}" | tr a-z A-Z)"
            echo "-I"; echo "$REPO/Sources/CZlib"; echo "-lz"
            echo "-I"; echo "$REPO/Sources/CIsal"; echo "-lisal"
            echo "-I"; echo "$REPO/Sources/CFFFTextParsing/include"
            ;;
        *) return 1 ;;
    esac
}

# Prints the C files target $1 links (compiled by build_target with clang, same sanitizers).
target_c_sources() {
    case "$1" in
        records_*) echo "$REPO/Sources/CFFFTextParsing/digit_fields.c" ;;
    esac
}

target_dict() {
    case "$1" in
        model_reader) echo "$REPO/fuzz/model.dict" ;;
        records_*) echo "$REPO/fuzz/${1}.dict" ;;
    esac
}

# Fills directory $2 with seeds for target $1 (generated, never committed).
target_seeds() {
    local target="$1" dir="$2"
    case "$target" in
        model_reader)
            local files=()
            while IFS= read -r f; do files+=("$f"); done < <(
                find "$REPO/fixtures" -name '*.fff' -size -"$((MAX_LEN / 1024))"k | sort)
            cp "${files[@]}" "$dir/"
            # Each valid model re-written under four writer settings (uncompressed ones let byte
            # mutations reach payload fields directly).
            build_tool model_seeds
            "$OUT/bin/model_seeds" "$dir" "${files[@]}" >/dev/null
            # Larger than -max_len: libFuzzer would only see a truncated prefix.
            find "$dir" -type f -size +"$((MAX_LEN / 1024))"k -delete
            ;;
        records_*)
            python3 "$REPO/fuzz/tools/record_seeds.py" "${target#records_}" "$dir" "$REPO"
            ;;
        *) return 1 ;;
    esac
}

# Helper programs built from fuzz/tools/ (no sanitizers).
build_tool() {
    local tool="$1" bin="$OUT/bin/$1" sources=()
    case "$tool" in
        model_seeds|model_verdicts)
            while IFS= read -r f; do sources+=("$f"); done < <(find "$REPO/Sources/FFFFormat" -name '*.swift' | sort)
            sources+=("$REPO/fuzz/tools/$tool.swift" -I "$REPO/Sources/CZstd" -lzstd)
            ;;
    esac
    if needs_build "$bin" "${sources[@]}"; then
        echo "fuzz: building $tool" >&2
        nice -n 10 "$SWIFTC" -O -swift-version 6 -module-name FFFFuzzTool -package-name FastFeedforward -parse-as-library \
            -use-ld=lld "${sources[@]}" -o "$bin" >"$OUT/logs/build-$tool.log" 2>&1 \
            || { cat "$OUT/logs/build-$tool.log" >&2; exit 2; }
    fi
}

# ---------------------------------------------------------------------------------------------

die() { echo "fuzz: $*" >&2; exit 2; }

is_target() {
    local t
    for t in "${TARGETS[@]}"; do [[ "$t" == "$1" ]] && return 0; done
    return 1
}

# True if binary $1 is missing or older than any of the files among the remaining arguments.
needs_build() {
    local bin="$1"; shift
    [[ "${FUZZ_REBUILD:-0}" == 1 ]] && return 0
    [[ -x "$bin" ]] || return 0
    local f
    for f in "$@"; do
        [[ -f "$f" && "$f" -nt "$bin" ]] && return 0
    done
    [[ "$REPO/fuzz/run.sh" -nt "$bin" ]] && return 0
    return 1
}

build_target() {
    local target="$1" bin="$OUT/bin/$1" args=() c_sources=()
    while IFS= read -r a; do args+=("$a"); done < <(target_sources "$target")
    while IFS= read -r a; do c_sources+=("$a"); done < <(target_c_sources "$target")
    if needs_build "$bin" "${args[@]}" "${c_sources[@]}"; then
        echo "fuzz: building $target (swiftc -sanitize=fuzzer,address -O)" >&2
        local started=$SECONDS c object
        mkdir -p "$OUT/obj"
        for c in "${c_sources[@]}"; do
            object="$OUT/obj/$target-$(basename "$c" .c).o"
            nice -n 10 "${CC:-clang}" -O2 -g -fsanitize=fuzzer-no-link,address -I"$(dirname "$c")/include" \
                -c "$c" -o "$object" >"$OUT/logs/build-$target.log" 2>&1 \
                || { cat "$OUT/logs/build-$target.log" >&2; die "build of $target failed"; }
            args+=("$object")
        done
        nice -n 10 "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 \
            -module-name "FFFFuzz_$target" -package-name FastFeedforward -use-ld=lld "${args[@]}" -o "$bin.tmp" \
            >"$OUT/logs/build-$target.log" 2>&1 \
            || { cat "$OUT/logs/build-$target.log" >&2; die "build of $target failed"; }
        mv "$bin.tmp" "$bin"
        echo "fuzz: built $bin in $((SECONDS - started)) s" >&2
    fi
}

# The value of libFuzzer's final statistic $2 in log $1.
libfuzzer_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }

run_fuzzer() {
    local target="$1" seconds="$2"; shift 2
    [[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a number, not '$seconds'"
    build_target "$target"

    local corpus="$OUT/corpus-$target" seeds="$OUT/seeds-$target"
    local stamp; stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    local artifacts="$OUT/artifacts-$target/$stamp" log="$OUT/logs/$target-$stamp.log"
    local regressions="$REPO/fuzz/regressions/$target"
    mkdir -p "$corpus" "$artifacts" "$regressions"
    rm -rf "$seeds"; mkdir -p "$seeds"
    target_seeds "$target" "$seeds"

    local flags=(-max_total_time="$seconds" -max_len="$MAX_LEN" -rss_limit_mb=2048 -timeout=10
                 -print_final_stats=1 -artifact_prefix="$artifacts/")
    local dict; dict="$(target_dict "$target")"
    [[ -n "$dict" && -f "$dict" ]] && flags+=(-dict="$dict")
    if [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]]; then
        flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi

    echo "fuzz: $target for $seconds s; corpus $corpus ($(ls "$corpus" | wc -l) files) + $(ls "$seeds" | wc -l) seeds; log $log" >&2
    local started=$SECONDS rc=0
    export SWIFT_BACKTRACE=enable=no
    export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:handle_abort=1:handle_sigill=1:symbolize=1}"
    if [[ "${FUZZ_VERBOSE:-0}" == 1 ]]; then
        nice -n 10 "$OUT/bin/$target" "${flags[@]}" "$@" "$corpus" "$seeds" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    else
        nice -n 10 "$OUT/bin/$target" "${flags[@]}" "$@" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    fi
    local elapsed=$((SECONDS - started))

    # Findings: crash-*, timeout-*, oom-*, leak-* (not slow-unit-*: those are not failures).
    local found=()
    local f
    for f in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
        [[ -f "$f" ]] || continue
        cp "$f" "$regressions/"
        found+=("$regressions/$(basename "$f")")
    done

    local progress; progress="$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)"
    local cov ft corp
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$progress")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$progress")"
    corp="$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$progress")"
    local execs rate rss
    execs="$(libfuzzer_stat "$log" number_of_executed_units)"; rate="$(libfuzzer_stat "$log" average_exec_per_sec)"
    rss="$(libfuzzer_stat "$log" peak_rss_mb)"
    if [[ -z "$execs" ]]; then  # fork mode or a crash before the final statistics
        execs="$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$progress")"
        [[ -n "$execs" && $elapsed -gt 0 ]] && rate=$((execs / elapsed))
    fi

    local summary="$OUT/last-run-$target.txt"
    {
        echo "target:      $target"
        echo "started:     $stamp (UTC), $elapsed s wall (asked $seconds s)"
        echo "executions:  ${execs:-?}"
        echo "exec/s:      ${rate:-?}"
        echo "coverage:    cov: ${cov:-?} ft: ${ft:-?}  corpus: ${corp:-?} ($(ls "$corpus" | wc -l) files in $corpus)"
        echo "peak rss:    ${rss:-?} MB"
        echo "exit status: $rc ($([[ $rc == 0 ]] && echo "no finding" || echo "FINDING"))"
        if [[ ${#found[@]} -gt 0 ]]; then
            echo "findings:"
            for f in "${found[@]}"; do
                echo "  $f"
            done
            echo "first report:"
            grep -m1 -E 'FUZZ ORACLE FAILURE|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" | sed 's/^/  /' || true
        fi
        echo "log:         $log"
    } | tee "$summary"
    return "$rc"
}

replay() {
    local target="$1"; shift
    build_target "$target"
    local files=("$@")
    if [[ ${#files[@]} -eq 0 ]]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$REPO/fuzz/regressions/$target" -type f ! -name '*.md' ! -name '*.txt' 2>/dev/null | sort)
    fi
    [[ ${#files[@]} -gt 0 ]] || { echo "fuzz: no files to replay for $target"; return 0; }
    export SWIFT_BACKTRACE=enable=no
    local failed=0 f
    for f in "${files[@]}"; do
        if nice -n 10 "$OUT/bin/$target" -rss_limit_mb=2048 -timeout=10 "$f" >"$OUT/logs/replay.log" 2>&1; then
            echo "ok      $f"
        else
            echo "FAILS   $f"
            grep -m1 -E 'FUZZ ORACLE FAILURE|ERROR: (AddressSanitizer|libFuzzer)|Fatal error' "$OUT/logs/replay.log" | sed 's/^/        /' || true
            failed=1
        fi
    done
    return "$failed"
}

minimize() {
    local target="$1" file="$2" seconds="${3:-60}"
    build_target "$target"
    export SWIFT_BACKTRACE=enable=no
    nice -n 10 "$OUT/bin/$target" -minimize_crash=1 -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -exact_artifact_path="$file.min" "$file" >"$OUT/logs/minimize-$target.log" 2>&1 || true
    if [[ -f "$file.min" ]]; then
        echo "fuzz: $(wc -c <"$file") bytes -> $(wc -c <"$file.min") bytes: $file.min"
    else
        echo "fuzz: could not minimize $file (does it crash? see $OUT/logs/minimize-$target.log)"
        return 1
    fi
}

differential() {
    local dirs=("$@")
    if [[ ${#dirs[@]} -eq 0 ]]; then
        local d
        for d in "$OUT/corpus-model_reader" "$OUT/seeds-model_reader" "$REPO/fuzz/regressions/model_reader" "$REPO/fuzz/regressions/model_reader_differential"; do
            [[ -d "$d" ]] && dirs+=("$d")
        done
    fi
    build_tool model_verdicts
    nice -n 10 python3 "$REPO/fuzz/tools/differential.py" "$OUT/bin/model_verdicts" "${FFF_FUZZ_MAX_DECODED_MB:-64}" "${dirs[@]}"
}

main() {
    [[ $# -ge 1 ]] || { sed -n '2,25p' "$0"; exit 64; }
    if [[ "$1" == list ]]; then printf '%s\n' "${TARGETS[@]}"; exit 0; fi
    local target="$1"; shift
    is_target "$target" || die "unknown target '$target' (known: ${TARGETS[*]})"
    [[ $# -ge 1 ]] || die "usage: fuzz/run.sh TARGET SECONDS|build|replay|minimize"
    mkdir -p "$OUT/bin" "$OUT/logs"
    case "$1" in
        build) FUZZ_REBUILD=1; build_target "$target" ;;
        replay) shift; replay "$target" "$@" ;;
        minimize) shift; [[ $# -ge 1 ]] || die "minimize needs a FILE"; minimize "$target" "$@" ;;
        differential) [[ "$target" == model_reader ]] || die "differential is for model_reader"; shift; differential "$@" ;;
        *) run_fuzzer "$target" "$@" ;;
    esac
}

main "$@"
