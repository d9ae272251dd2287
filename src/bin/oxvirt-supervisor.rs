//! `oxvirt-supervisor`: owns one QEMU process; started by the QEMU driver, not by hand.
//! See `oxvirt_driver_qemu::supervisor`. It lives in the root package so that it links
//! the built-in security backends, as `oxvirt` does.

// Link the built-in security backends so they register themselves.
use oxvirt_security_apparmor as _;
use oxvirt_security_dac as _;
use oxvirt_security_landlock as _;
use oxvirt_security_none as _;
use oxvirt_security_selinux as _;

fn main() {
    std::process::exit(oxvirt_driver_qemu::supervisor::main());
}
