# shellcheck shell=bash
# The SELinux label layer: real labels for the host's /usr and /etc inside the VM.
#
# 9p carries no SELinux labels (the policy has no fs_use or genfscon for it: every file
# would be unlabeled_t, and QEMU could not even be exec'd in svirt_t). So the host's /usr
# and /etc are labelled once, here, without touching them: each is mounted as an overlay
# (metacopy=on) over the host directory in a private mount namespace, `setfiles` labels
# the overlay with the policy's file_contexts, and only the metadata copies (the labels,
# no file data) land in the upper directory, which mkfs.ext4 packs into layer.img
# (~100 MB for 140k files). Before that, `semodule` installs permissive_virtd_t.cil into
# the same overlay, so the VM's /etc/selinux policy has virtd_t (the harness domain)
# permissive. The VM mounts layer.img as the upper lower layer of /usr and /etc over the
# 9p shares: labels from the layer, data from the host.
# Cached in $CACHE/selinux, rebuilt when the host's package set or these scripts change.
# Sourced by scripts/lsm-vm after common.sh.

SELINUX_DIR=$CACHE/selinux
readonly POLICY_ROOT=/etc/selinux/default

# The inputs: the host's package set (its policy among them) and these scripts. File
# data always comes from the host at run time. A file added outside dpkg since the build
# (/usr/local, useradd's /etc/passwd-) shows in the VM with its lower's label (lib_t,
# etc_t); one removed is an I/O error there. `scripts/lsm-vm prepare --relabel` redoes it.
selinux_stamp() {
    echo "dpkg=$(hash_files /var/lib/dpkg/status)" \
        "scripts=$(hash_files "$LSMVM_D/selinux.sh" "$LSMVM_D/permissive_virtd_t.cil")"
}

selinux_check_host() {
    local tool
    [[ -s $POLICY_ROOT/policy/policy.33 && -s $POLICY_ROOT/contexts/files/file_contexts ]] ||
        fail "$EXIT_SETUP" "no SELinux policy in $POLICY_ROOT: apt-get install selinux-policy-default"
    for tool in setfiles semodule load_policy restorecon getenforce runcon mkfs.ext4 unshare; do
        command -v "$tool" >/dev/null || fail "$EXIT_SETUP" \
            "'$tool' is missing: apt-get install policycoreutils selinux-utils coreutils e2fsprogs util-linux"
    done
}

# Why the layer is (re)built: the first stamp field that differs from the cached one.
selinux_rebuild_reason() {
    local old=() new field i
    [[ -f $SELINUX_DIR/stamp && -s $SELINUX_DIR/layer.img ]] || {
        echo "first build"
        return
    }
    read -ra old <"$SELINUX_DIR/stamp"
    read -ra new <<<"$1"
    for i in "${!new[@]}"; do
        field=${new[$i]%%=*}
        [[ ${old[$i]:-} == "${new[$i]}" ]] && continue
        case $field in
        dpkg) echo "the host's installed packages changed" ;;
        *) echo "scripts/lsm-vm.d changed" ;;
        esac
        return
    done
}

# Build (or keep) $SELINUX_DIR/layer.img; `relabel` as $1 builds it anyway.
selinux_layer_ensure() {
    local stamp
    selinux_check_host
    stamp=$(selinux_stamp)
    [[ ${1:-} != relabel ]] && stamp_current "$SELINUX_DIR" "$stamp" layer.img && return
    say "labelling the host's /usr and /etc for SELinux ($(selinux_rebuild_reason "$stamp"); about 2 minutes, cached)"
    mkdir -p "$SELINUX_DIR"
    unshare -m --propagation private bash "$LSMVM_D/selinux.sh" build "$SELINUX_DIR/.layer.img.tmp" ||
        fail "$EXIT_SETUP" "building the SELinux label layer failed (see above)"
    mv -f "$SELINUX_DIR/.layer.img.tmp" "$SELINUX_DIR/layer.img"
    echo "$stamp" >"$SELINUX_DIR/stamp"
}

# In a private mount namespace: label, pack into $1.
selinux_layer_build() {
    local out=$1 stage d n
    stage=$(mktemp -d /tmp/lsm-vm-selinux.XXXXXX)
    # shellcheck disable=SC2064 # expand now
    trap "umount -R '$stage' 2>/dev/null; rm -rf '$stage'" EXIT
    mount -t tmpfs -o mode=755 lsmvm-stage "$stage" || return 1
    for d in usr etc var/lib/selinux; do
        mkdir -p "$stage/upper/$d" "$stage/work/$d" "$stage/root/$d"
        # xino=on: one st_dev for the whole overlay, or setfiles would not descend into
        # files it takes for another filesystem. volatile: no syncs, the tree is scratch.
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$stage/upper/$d,workdir=$stage/work/$d,metacopy=on,xino=on,volatile" \
            "$stage/root/$d" || {
            echo "lsm-vm: cannot mount an overlay (metacopy) over /$d: the host kernel needs overlayfs" >&2
            return 1
        }
    done
    semodule -p "$stage/root" -n -i "$LSMVM_D/permissive_virtd_t.cil" \
        2> >(grep -v 'user sddm not in password file' >&2) || return 1
    setfiles -T 0 -r "$stage/root" -c "$stage/root$POLICY_ROOT/policy/policy.33" \
        "$stage/root$POLICY_ROOT/contexts/files/file_contexts" "$stage/root/usr" "$stage/root/etc" \
        2> >(grep -v 'conflicting specifications' >&2) || return 1
    # The VM's init loads the policy from the layer's root before it mounts anything
    # else (the same bytes as the layer's /etc/selinux policy).
    cp "$stage/root$POLICY_ROOT/policy/policy.33" "$stage/upper/policy"
    for d in usr etc var/lib/selinux; do umount "$stage/root/$d"; done
    rm -rf "$stage/upper/var"
    n=$(find "$stage/upper" | wc -l)
    # 512-byte inodes keep the three xattrs (label, metacopy, origin) in the inode.
    mkfs.ext4 -q -F -L lsmvm-selinux -O ^has_journal,^metadata_csum -I 512 \
        -N $((n + n / 4 + 1024)) -d "$stage/upper" "$out" "$((64 + n / 512))M" >/dev/null
}

if [[ ${BASH_SOURCE[0]} == "$0" && ${1:-} == build ]]; then
    set -euo pipefail
    # shellcheck source=scripts/lsm-vm.d/common.sh
    source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
    selinux_layer_build "$2"
fi
