//! The `oxvirt` command line: virsh's verbs, flags, output and exit codes over any
//! oxvirt driver. `main` parses arguments; each verb formats what the driver returns the
//! way virsh prints it.

pub mod cli;
pub mod confinement;
pub mod output;
