//! `oxvirt-supervisor`: owns one QEMU process; started by the QEMU driver, not by hand.
//! See `oxvirt_driver_qemu::supervisor`.

fn main() {
    std::process::exit(oxvirt_driver_qemu::supervisor::main());
}
