//! oxvirt-driver-qemu: the QEMU driver.
