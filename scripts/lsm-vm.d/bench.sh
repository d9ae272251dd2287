# shellcheck shell=bash
# `scripts/lsm-vm bench [RUNS]`: boot time of the LSM VM, measured from the host.
#
# Each run is `scripts/lsm-vm LSM -- sh -c ': >/.lsmvm/io/mark'`; the host polls the I/O
# share (every 10 ms) for the mark, so "to COMMAND" is the time from starting
# scripts/lsm-vm to COMMAND running inside, as a test sees it (stamps checked, QEMU
# started, kernel, init, LSM set up). "total" adds COMMAND's end, the kernel log copy and
# the poweroff. RUNS (default 5) per LSM, interleaved, medians; `none` is the baseline.
# Sourced by scripts/lsm-vm.

bench_one() { # bench_one LSM -> "TO_COMMAND TOTAL" in seconds, or fails
    local lsm=$1 dir t0 t1='' t2 pid deadline
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lsm-vm-bench.XXXXXX")
    t0=$(date +%s.%N)
    "$SELF_DIR/lsm-vm" --quiet --timeout 300 --out "$dir" "$lsm" -- sh -c ': >/.lsmvm/io/mark' &
    pid=$!
    deadline=$((SECONDS + 300))
    while ((SECONDS < deadline)); do
        [[ -e $dir/mark ]] && t1=$(date +%s.%N) && break
        [[ -e $dir/status || -e $dir/boot-error ]] && break
        sleep 0.01
    done
    wait "$pid" || { rm -rf "$dir"; return 1; }
    t2=$(date +%s.%N)
    rm -rf "$dir"
    [[ -n $t1 ]] || return 1
    awk -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN { printf "%.2f %.2f\n", t1 - t0, t2 - t0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bench() {
    local runs=${1:-5} lsm i r to_cmd total
    [[ $runs =~ ^[1-9][0-9]*$ ]] || fail "$EXIT_USAGE" "bench takes a number of runs"
    declare -A to_cmd_of total_of
    # Warm-up: builds what is stale, and the page cache, outside the measurement.
    for lsm in none apparmor selinux; do bench_one "$lsm" >/dev/null || fail "$EXIT_BOOT" "the $lsm VM does not boot"; done
    for ((i = 1; i <= runs; i++)); do
        for lsm in none apparmor selinux; do
            r=$(bench_one "$lsm") || fail "$EXIT_BOOT" "run $i of the $lsm VM failed"
            to_cmd_of[$lsm]+="${r% *} "
            total_of[$lsm]+="${r#* } "
            echo "run $i $lsm: to COMMAND ${r% *} s, total ${r#* } s" >&2
        done
    done
    local base
    base=$(tr ' ' '\n' <<<"${to_cmd_of[none]}" | grep . | median)
    printf '%-9s %-22s %-22s %s\n' LSM "to COMMAND (median)" "total (median)" "vs none"
    for lsm in none apparmor selinux; do
        to_cmd=$(tr ' ' '\n' <<<"${to_cmd_of[$lsm]}" | grep . | median)
        total=$(tr ' ' '\n' <<<"${total_of[$lsm]}" | grep . | median)
        printf '%-9s %-22s %-22s %sx\n' "$lsm" "$to_cmd s" "$total s" \
            "$(awk -v a="$to_cmd" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
    done
    echo "($runs runs each, interleaved; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
}
