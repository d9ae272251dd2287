//! The `input` family: `<input>`.

use super::common::Address;

/// `<input type= bus=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    pub input_type: String,
    pub bus: Option<String>,
    pub address: Option<Address>,
}
