# shellcheck shell=bash
# Shared by scripts/lsm-vm and its build steps: where the cached artefacts live, the exit
# statuses, messages, the build lock and input stamps. Sourced, never run.
# shellcheck disable=SC2034 # the constants are used by the files that source this

# Exit statuses of scripts/lsm-vm other than COMMAND's own (docs/testing.md lists them).
readonly EXIT_USAGE=2          # bad arguments
readonly EXIT_SETUP=240        # artefacts missing or not buildable (run `scripts/lsm-vm prepare`)
readonly EXIT_BOOT=241         # the VM did not get to COMMAND (QEMU, modules, mounts, LSM)
readonly EXIT_PANIC=242        # the VM's kernel panicked
readonly EXIT_TIMEOUT=243      # --timeout passed before COMMAND ended

LSMVM_D=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LSMVM_D/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
[[ $TARGET == /* ]] || TARGET=$REPO/$TARGET
CACHE=$TARGET/lsm-vm

# The kernel: Debian's generic image (it has 9p as modules; the cloud image does not).
readonly KERNEL_META=linux-image-amd64
# Loaded by the VM's init, dependencies first (the order modprobe computes): always,
# and for the SELinux label layer (an ext4 disk).
readonly KERNEL_MODULES="virtio_pci 9pnet_virtio 9p overlay"
readonly LAYER_MODULES="virtio_blk ext4"

say() { [[ ${LSMVM_QUIET:-0} == 1 ]] || echo "lsm-vm: $*" >&2; }
fail() {
    local status=$1
    shift
    echo "lsm-vm: $*" >&2
    exit "$status"
}

# Hold the cache's build lock on fd 9 until the calling process exits.
lock_cache() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.build.lock"
    flock 9 || fail "$EXIT_SETUP" "cannot lock $CACHE/.build.lock"
}

# sha256 of the given files' contents, in order.
hash_files() { cat -- "$@" | sha256sum | cut -d' ' -f1; }

# Is DIR/stamp equal to STAMP (and every listed artefact present and non-empty)?
stamp_current() {
    local dir=$1 stamp=$2 f
    shift 2
    [[ -f $dir/stamp && $(cat "$dir/stamp") == "$stamp" ]] || return 1
    for f in "$@"; do [[ -s $dir/$f ]] || return 1; done
}

# The kernel .deb `prepare` fetched: the newest in $CACHE/debs.
cached_kernel_deb() {
    local debs=("$CACHE"/debs/linux-image-*-amd64_*.deb)
    [[ -e ${debs[0]} ]] || return 1
    printf '%s\n' "${debs[@]}" | sort -V | tail -n1
}
