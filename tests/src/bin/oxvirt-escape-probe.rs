//! `oxvirt-escape-probe`: attacks the host from inside a VM's confinement.
//!
//! - `launch JOURNAL OUT -- BINARY ARGS...` starts `BINARY` with exactly the confinement
//!   the running VM's journal records (`run/qemu/NAME.journal`), through the QEMU
//!   launcher's own fork/confine/exec path (`oxvirt_driver_qemu::launch::spawn`); only
//!   the descriptors differ: stdout and stderr go to `OUT`. Waits for it to exit.
//! - `probe KEY=VALUE...` (what `launch` runs, via the dynamic loader because the
//!   confinement allows executing only QEMU) tries each escape and prints one line per
//!   cell: `CELL<TAB>ok` (the access worked) or `CELL<TAB>denied: WHY`.
//! - `listen NAME SECONDS`: holds an abstract unix socket `@NAME` open (started under
//!   another VM's confinement, it is that VM's socket).

use oxvirt_driver_qemu::launch::{spawn, Exec};
use oxvirt_tests::escape::{run_cells, Targets};
use std::os::unix::net::UnixListener;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("launch") => launch(&args[1..]),
        Some("probe") => {
            let t = Targets::from_args(&args[1..]);
            for (cell, result) in run_cells(&t) {
                println!("{cell}\t{result}");
            }
            0
        }
        Some("listen") => listen(&args[1..]),
        _ => {
            eprintln!("usage: oxvirt-escape-probe launch JOURNAL OUT -- BINARY ARGS... | probe KEY=VALUE... | listen NAME SECONDS");
            2
        }
    };
    std::process::exit(code);
}

fn listen(args: &[String]) -> i32 {
    use std::os::linux::net::SocketAddrExt;
    let (Some(name), Some(secs)) = (args.first(), args.get(1)) else {
        return 2;
    };
    let addr =
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract name");
    let l = match UnixListener::bind_addr(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on @{name}: {e}");
            return 1;
        }
    };
    println!("listening {}", std::process::id());
    std::thread::sleep(std::time::Duration::from_secs(secs.parse().unwrap_or(30)));
    drop(l);
    0
}

fn launch(args: &[String]) -> i32 {
    let (Some(journal), Some(out), Some("--")) =
        (args.first(), args.get(1), args.get(2).map(String::as_str))
    else {
        eprintln!("launch JOURNAL OUT -- BINARY ARGS...");
        return 2;
    };
    let text = std::fs::read_to_string(journal).expect("read the journal");
    let value: serde_json::Value = serde_json::from_str(&text).expect("journal JSON");
    let mut confinement: oxvirt_core::security::Confinement =
        serde_json::from_value(value["confinement"].clone())
            .expect("the journal records the confinement");
    for fd in &mut confinement.fds {
        if fd.fd > 0 {
            fd.path = out.into();
        }
    }
    let exec = Exec {
        binary: args[3].clone().into(),
        args: args[4..].to_vec(),
        env: vec![],
        cwd: "/".into(),
        umask: 0o002,
    };
    match spawn(&exec, &confinement, |_, _| Ok(())) {
        Ok(p) => {
            let mut status = 0;
            // SAFETY: waitpid for our own child with a status int on this frame.
            unsafe { libc::waitpid(p.pid as i32, &mut status, 0) };
            if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("cannot launch under the VM's confinement: {e}");
            1
        }
    }
}
