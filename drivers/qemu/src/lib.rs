//! oxvirt-driver-qemu: the QEMU driver.

pub mod argv;
