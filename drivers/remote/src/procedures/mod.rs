//! The procedure table: every procedure of libvirt 9.0.0's `remote` and `qemu` programs
//! and of keepalive, by number and name, with its access rule and priority
//! ([`data`], from `data/procedures.tsv`) and its handler, if oxvirt has one
//! (`crate::handlers`). The server dispatches every call through `table()`.

pub mod data;
#[cfg(test)]
mod tests;

use crate::handlers::{self, Reg};
use data::{Procedure, Program};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One procedure and its handler (`None`: answered `VIR_ERR_NO_SUPPORT`).
pub(crate) struct Entry {
    pub procedure: Procedure<'static>,
    pub handler: Option<&'static Reg>,
}

/// Every procedure, indexed by (program, number).
pub(crate) struct Table {
    entries: Vec<Entry>,
    index: HashMap<(Program, i32), usize>,
}

impl Table {
    pub fn get(&self, program: Program, number: i32) -> Option<&Entry> {
        self.index
            .get(&(program, number))
            .map(|&i| &self.entries[i])
    }

    #[cfg(test)]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Join the data and the handlers; a handler for a procedure that is not in the
    /// data, or registered under another name, is an error naming it.
    fn build(
        data: Vec<Procedure<'static>>,
        regs: impl Iterator<Item = &'static Reg>,
    ) -> Result<Table, String> {
        let mut entries: Vec<Entry> = data
            .into_iter()
            .map(|procedure| Entry {
                procedure,
                handler: None,
            })
            .collect();
        let mut index = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let p = &e.procedure;
            if index.insert((p.program, p.number), i).is_some() {
                return Err(format!("{:?} {} is listed twice", p.program, p.number));
            }
        }
        for reg in regs {
            let Some(&i) = index.get(&(reg.program, reg.number)) else {
                return Err(format!(
                    "handler {} has no procedure {}",
                    reg.name, reg.number
                ));
            };
            let e = &mut entries[i];
            if e.procedure.name != reg.name || e.handler.is_some() {
                return Err(format!(
                    "handler {} is registered at {} ({}), or twice",
                    reg.name, reg.number, e.procedure.name
                ));
            }
            e.handler = Some(reg);
        }
        Ok(Table { entries, index })
    }
}

/// The table, built on first use from the compiled-in data and the handler registry.
pub(crate) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        data::parse(data::DATA)
            .and_then(|d| Table::build(d, handlers::registry()))
            // The data and registry are compiled in and checked by procedures::tests.
            .unwrap_or_else(|e| panic!("the RPC procedure table is inconsistent: {e}"))
    })
}
