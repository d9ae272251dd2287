# shellcheck shell=bash
# The VM's kernel and initramfs: Debian's generic kernel from the .deb `prepare` fetched
# with apt (as an ELF vmlinux), the modules the VM's init loads (virtio, 9p, overlay, ext4), static busybox
# and scripts/lsm-vm.d/init. Cached in $CACHE/kernel, rebuilt when an input changes.
# Sourced by scripts/lsm-vm after common.sh.

readonly BUSYBOX=/bin/busybox
KERNEL_DIR=$CACHE/kernel

# prepare: download the kernel package behind linux-image-amd64 into $CACHE/debs.
kernel_fetch() {
    local pkg
    pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [[ -n $pkg ]] || fail "$EXIT_SETUP" "apt-cache knows no '$KERNEL_META' (run apt-get update)"
    mkdir -p "$CACHE/debs"
    if compgen -G "$CACHE/debs/${pkg}_*.deb" >/dev/null; then
        say "kernel package $pkg already downloaded"
        return
    fi
    say "downloading $pkg with apt-get"
    (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
        fail "$EXIT_SETUP" "apt-get download $pkg failed"
    # Older kernels' packages are of no further use.
    find "$CACHE/debs" -name 'linux-image-*.deb' ! -name "${pkg}_*.deb" -delete
}

kernel_stamp() {
    local deb=$1
    echo "deb=$(basename "$deb") busybox=$(hash_files "$BUSYBOX")" \
        "scripts=$(hash_files "$LSMVM_D/kernel.sh" "$LSMVM_D/init" "$LSMVM_D/common.sh")"
}

# Build (or keep) $KERNEL_DIR/{vmlinuz,initramfs.cpio.gz}; never downloads.
kernel_ensure() {
    local deb stamp
    deb=$(cached_kernel_deb) ||
        fail "$EXIT_SETUP" "no kernel package in $CACHE/debs: run 'scripts/lsm-vm prepare' (downloads $KERNEL_META with apt)"
    [[ -x $BUSYBOX ]] || fail "$EXIT_SETUP" "$BUSYBOX is missing: apt-get install busybox-static"
    for tool in cpio depmod modprobe dpkg-deb xz; do
        command -v "$tool" >/dev/null ||
            fail "$EXIT_SETUP" "'$tool' is missing: apt-get install cpio kmod xz-utils"
    done
    stamp=$(kernel_stamp "$deb")
    stamp_current "$KERNEL_DIR" "$stamp" vmlinux initramfs.cpio.gz && return
    say "building the VM kernel and initramfs from $(basename "$deb")"
    kernel_build "$deb" "$stamp"
}

# add_module NAME LIST: copy NAME.ko and its dependencies not yet in the initramfs, and
# append them to LIST in load order. Uses kernel_build's $work, $kver and $root.
add_module() {
    local kind path ko
    # `insmod /path/x.ko` lines, dependencies first; `builtin x` for built-in ones.
    modprobe -d "$work/pkg" -S "$kver" --show-depends "$1" >"$work/deps" ||
        fail "$EXIT_SETUP" "module $1 not found in $(basename "$deb")"
    while read -r kind path _; do
        [[ $kind == insmod ]] || continue
        ko=$(basename "$path")
        [[ -e $root/lib/modules/$ko ]] && continue
        cp "$path" "$root/lib/modules/$ko"
        echo "$ko" >>"$2"
    done <"$work/deps"
}

# The kernel as an ELF vmlinux: QEMU boots it through its PVH entry point, which skips
# the firmware's real-mode boot and the XZ decompression (seconds under TCG).
extract_vmlinux() {
    local bzimage=$1 out=$2 offset
    offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | head -n1 | cut -d: -f1)
    [[ -n $offset ]] || fail "$EXIT_SETUP" "$bzimage holds no XZ-compressed kernel (CONFIG_KERNEL_XZ)"
    # xz stops after the kernel's stream: `tail` may die of SIGPIPE, only xz's status counts.
    xz -dc --single-stream <(tail -c +$((offset + 1)) "$bzimage") >"$out" ||
        fail "$EXIT_SETUP" "cannot decompress the kernel in $bzimage"
}

kernel_build() {
    local deb=$1 stamp=$2 work kver root m
    work=$(mktemp -d "$CACHE/.kernel.XXXXXX")
    # shellcheck disable=SC2064 # expand now: $work is local
    trap "rm -rf '$work'" RETURN
    dpkg-deb -x "$deb" "$work/pkg" || fail "$EXIT_SETUP" "cannot unpack $deb"
    kver=$(basename "$(ls -d "$work"/pkg/lib/modules/*)")
    [[ -s $work/pkg/boot/vmlinuz-$kver ]] || fail "$EXIT_SETUP" "$deb has no boot/vmlinuz-$kver"
    depmod -b "$work/pkg" "$kver" || fail "$EXIT_SETUP" "depmod failed on $deb"

    root=$work/root
    mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules,newroot}
    cp "$BUSYBOX" "$root/bin/busybox"
    install -m 755 "$LSMVM_D/init" "$root/init"
    : >"$root/etc/modules"
    : >"$root/etc/modules.layer"
    for m in $KERNEL_MODULES; do add_module "$m" "$root/etc/modules"; done
    for m in $LAYER_MODULES; do add_module "$m" "$root/etc/modules.layer"; done
    (cd "$root" && find . -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1n >"$work/initramfs.cpio.gz"

    mkdir -p "$KERNEL_DIR"
    extract_vmlinux "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinux"
    mv -f "$work/vmlinux" "$KERNEL_DIR/vmlinux"
    mv -f "$work/initramfs.cpio.gz" "$KERNEL_DIR/initramfs.cpio.gz"
    echo "$kver" >"$KERNEL_DIR/release"
    echo "$stamp" >"$KERNEL_DIR/stamp"
}
