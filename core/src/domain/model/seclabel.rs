//! `<seclabel>`: security labels of the domain and of a disk's source.

/// `<seclabel type= model= relabel=>` with `<label>`, `<imagelabel>`, `<baselabel>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SecLabel {
    /// `dynamic`, `static` or `none`; absent on per-disk seclabels.
    pub label_type: Option<String>,
    pub model: Option<String>,
    pub relabel: Option<bool>,
    pub label: Option<String>,
    pub imagelabel: Option<String>,
    pub baselabel: Option<String>,
}
