# shellcheck shell=bash
# One VM run: the I/O share's config and cmd.sh, QEMU's command line, the watchdog, and
# the verdict (COMMAND's status, or boot failure / kernel panic / timeout).
# Sourced by scripts/lsm-vm after common.sh, kernel.sh and selinux.sh; uses its globals
# LSM, TIMEOUT, MEMORY, CPUS, CONTEXT, ENVS, SHARES, RUN (the run directory) and CMD.

readonly QEMU=qemu-system-x86_64
# The LSMs Debian's CONFIG_LSM lists, with only the major LSM asked for.
readonly LSM_BASE=landlock,lockdown,yama,integrity

# Single-quote $1 for sh.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# A value inside a QEMU option list (path=...,x=y): commas doubled.
qopt() { printf %s "${1//,/,,}"; }

# Absolute, resolved; empty when it does not exist.
resolve_dir() { [[ -d $1 ]] && (cd "$1" && pwd -P); }

# The host directories the VM sees at the same path: the checkout, the target dir, the
# test guest's cache, --share. Directories inside another share, /usr or /etc are left
# out (already there). Prints them, one per line.
share_dirs() {
    local guest=${OXVIRT_GUEST_DIR:-${HOME:-/root}/.cache/oxvirt/guest} d r kept=()
    for d in "$REPO" "$TARGET" "$guest" "${SHARES[@]}"; do
        r=$(resolve_dir "$d") || continue
        [[ $r == / ]] && fail "$EXIT_USAGE" "cannot share / (share the directories COMMAND needs)"
        case $r/ in /usr/* | /etc/* | /proc/* | /sys/* | /dev/*) continue ;; esac
        kept+=("$r")
    done
    printf '%s\n' "${kept[@]}" | sort -u | awk '
        { for (i = 1; i <= n; i++) if (index($0 "/", keep[i] "/") == 1) next; keep[++n] = $0; print }'
}

write_config() {
    local i=0 d
    {
        echo "lsm $LSM"
        [[ $LSM == selinux ]] && echo "context $CONTEXT"
        find / -maxdepth 1 -type l -printf 'link %f %l\n'
        while read -r d; do
            echo "share s$i $d"
            i=$((i + 1))
        done < <(share_dirs)
        # The host's cgroup mounts, in mount order (v1 controllers before cgroup2). A
        # named v1 hierarchy without controllers (name=systemd) is mounted with `none`.
        awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
               fs = $(i+1); opts = $(i+3)
               if (fs == "cgroup" && opts ~ /^(r[ow],)?name=[^,]*$/) opts = "none," opts
               if ($5 ~ "^/sys/fs/cgroup" && (fs ~ "^cgroup" || fs == "tmpfs"))
                   print "cgroup", fs, opts, $5 }' /proc/self/mountinfo
    } >"$RUN/config"
}

# cmd.sh: cd to the caller's directory when the VM has it, then COMMAND in a clean
# environment.
write_cmd() {
    local cwd a e
    cwd=$(pwd -P)
    {
        echo "cd $(shq "$cwd") 2>/dev/null || cd /"
        printf 'exec /usr/bin/env -i --'
        for e in PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root USER=root LOGNAME=root SHELL=/bin/sh LANG=C.UTF-8 TERM=dumb \
            LSMVM_LSM="$LSM" "${ENVS[@]}"; do
            printf ' %s' "$(shq "$e")"
        done
        [[ -n ${OXVIRT_GUEST_DIR:-} ]] && printf ' %s' "$(shq "OXVIRT_GUEST_DIR=$OXVIRT_GUEST_DIR")"
        for a in "${CMD[@]}"; do printf ' %s' "$(shq "$a")"; done
        echo
    } >"$RUN/cmd.sh"
}

qemu_args() {
    local lsm_list=$LSM_BASE,$LSM,bpf tag path id=0
    [[ $LSM == none ]] && lsm_list=$LSM_BASE,bpf
    # shellcheck disable=SC2054 # commas inside QEMU's option values
    # q35: virtio on PCIe with MSI-X, no ACPI interrupt-link routing (seconds under TCG).
    ARGS=(-name lsm-vm -machine q35,accel=tcg -cpu max -smp "$CPUS" -m "$MEMORY"
        -nodefaults -no-user-config -display none -no-reboot
        -kernel "$KERNEL_DIR/vmlinux" -initrd "$KERNEL_DIR/initramfs.cpio.gz"
        -append "console=ttyS0 quiet panic=-1 lsm=$lsm_list audit_backlog_limit=8192 log_buf_len=8M mitigations=off"
        -chardev "file,id=console,path=$(qopt "$RUN/console.log")" -serial chardev:console
        -fsdev "local,id=io,path=$(qopt "$RUN"),security_model=none"
        -device virtio-9p-pci,fsdev=io,mount_tag=lsmvm)
    while read -r tag path; do
        ARGS+=(-fsdev "local,id=fs$id,path=$(qopt "$path"),security_model=none,readonly=on,multidevs=remap"
            -device "virtio-9p-pci,fsdev=fs$id,mount_tag=$tag")
        id=$((id + 1))
    done < <(printf 'usr /usr\netc /etc\n' && sed -n 's/^share //p' "$RUN/config")
    if [[ $LSM == selinux ]]; then
        ARGS+=(-drive "file=$(qopt "$SELINUX_DIR/layer.img"),if=virtio,format=raw,readonly=on")
    fi
}

# Start QEMU, wait for it or the timeout. Sets QEMU_STATUS and TIMED_OUT; QEMU_PID and
# WATCHDOG_PID while they run (the caller's EXIT trap kills them).
boot_and_wait() {
    local done_pid status
    command -v "$QEMU" >/dev/null || fail "$EXIT_SETUP" "$QEMU is missing: apt-get install qemu-system-x86"
    "$QEMU" "${ARGS[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
    QEMU_PID=$!
    # shellcheck disable=SC2153 # TIMEOUT is scripts/lsm-vm's
    sleep "$TIMEOUT" >/dev/null 2>&1 &
    WATCHDOG_PID=$!
    TIMED_OUT=0
    QEMU_STATUS=0
    status=0
    wait -n -p done_pid "$QEMU_PID" "$WATCHDOG_PID" || status=$?
    if [[ $done_pid == "$WATCHDOG_PID" ]]; then
        TIMED_OUT=1
        kill -KILL "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    else
        QEMU_STATUS=$status
        kill "$WATCHDOG_PID" 2>/dev/null || true
        wait "$WATCHDOG_PID" 2>/dev/null || true
    fi
    QEMU_PID='' WATCHDOG_PID=''
}

# The last lines of the console, indented, for failure messages.
console_tail() { tail -n "${1:-15}" "$RUN/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/    /'; }

# Print COMMAND's output and exit with its status or the harness's.
report() {
    local line
    [[ -f $RUN/stdout ]] && cat "$RUN/stdout"
    [[ -f $RUN/stderr ]] && cat "$RUN/stderr" >&2
    if [[ -f $RUN/status ]]; then
        exit "$(cat "$RUN/status")"
    fi
    line=$(grep -a -m1 'Kernel panic' "$RUN/console.log" 2>/dev/null | tr -d '\r' || true)
    if [[ -n $line ]]; then
        fail "$EXIT_PANIC" "kernel panic in the VM: ${line#*Kernel panic - }
  console ($RUN/console.log):
$(console_tail 25)"
    fi
    if ((TIMED_OUT)); then
        fail "$EXIT_TIMEOUT" "timeout: $([[ -f $RUN/started ]] && echo "COMMAND" || echo "the VM's boot") did not finish within ${TIMEOUT}s; the VM was killed
  console ($RUN/console.log):
$(console_tail)"
    fi
    if [[ -f $RUN/boot-error ]]; then
        fail "$EXIT_BOOT" "boot failure: $(cat "$RUN/boot-error")"
    fi
    line=$(grep -a -m1 'LSMVM-BOOT-FAILURE' "$RUN/console.log" 2>/dev/null | tr -d '\r' || true)
    if [[ -n $line ]]; then
        fail "$EXIT_BOOT" "boot failure: ${line#*LSMVM-BOOT-FAILURE: }"
    fi
    if [[ -f $RUN/started ]]; then
        fail "$EXIT_BOOT" "the VM stopped while COMMAND ran (QEMU status $QEMU_STATUS, no exit status)
$(console_tail)"
    fi
    fail "$EXIT_BOOT" "boot failure: QEMU exited (status $QEMU_STATUS) before COMMAND started
  QEMU ($RUN/qemu.log):
$(sed 's/^/    /' "$RUN/qemu.log")
  console ($RUN/console.log):
$(console_tail)"
}
