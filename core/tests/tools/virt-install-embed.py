# virt-install against qemu:///embed (no daemon): register libvirt's event loop,
# and don't try to create storage pools (the embedded driver has no storage driver).
import sys, threading, libvirt
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
sys.path.insert(0, "/usr/share/virt-manager")
from virtinst import virtinstall, diskbackend
import os
diskbackend.manage_path = lambda conn, path: ((os.path.abspath(path) if path else None), None, None)
sys.argv[0] = "virt-install"
sys.exit(virtinstall.runcli())
