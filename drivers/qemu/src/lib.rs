//! oxvirt-driver-qemu: the QEMU driver.

pub mod argv;
pub mod caps;
pub mod connection;
pub mod control;
pub mod domains;
pub mod driver;
pub mod native;
pub mod notify;
pub mod paths;
pub mod process;
pub mod qmp;
pub mod status;
pub mod supervisor;
mod table;
pub mod verbs;

pub use driver::QemuDriver;
pub mod cgroup;
pub mod launch;
pub mod recovery;
pub mod resources;
pub mod security;
