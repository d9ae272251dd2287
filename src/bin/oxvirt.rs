//! `oxvirt`: the virsh-compatible command line.

use clap::Parser;

// Link the built-in drivers and security backends so they register themselves.
use oxvirt_driver_qemu as _;
use oxvirt_driver_remote as _;
use oxvirt_security_dac as _;
use oxvirt_security_none as _;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OXVIRT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = oxvirt::cli::Cli::parse();
    std::process::exit(oxvirt::cli::main_with(cli));
}
