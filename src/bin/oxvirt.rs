//! `oxvirt`: the virsh-compatible command line.

use clap::Parser;
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

// Link the built-in drivers and security backends so they register themselves.
use oxvirt_driver_qemu as _;
use oxvirt_driver_remote as _;
use oxvirt_security_apparmor as _;
use oxvirt_security_dac as _;
use oxvirt_security_landlock as _;
use oxvirt_security_none as _;
use oxvirt_security_selinux as _;

/// Diagnostics as virsh prints them: `warning: ...`, `error: ...`, no timestamps.
struct VirshStyle;

impl<S, N> FormatEvent<S, N> for VirshStyle
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OXVIRT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .event_format(VirshStyle)
        .with_writer(std::io::stderr)
        .init();
    let cli = oxvirt::cli::Cli::parse();
    std::process::exit(oxvirt::cli::main_with(cli));
}
