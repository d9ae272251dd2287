//! `oxvirt-aa-helper`: see the crate's library (`lib.rs`) and docs/apparmor.md.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = oxvirt_aa_helper::run(
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
