//! The one error type of oxvirt: a libvirt error code, an error domain and a message
//! that names the object, the problem and the fix.

use std::fmt;

/// libvirt's `virErrorNumber` values that oxvirt reports (numbers are on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    InternalError = 1,
    NoSupport = 3,
    InvalidArg = 8,
    OperationFailed = 9,
    XmlError = 27,
    OperationInvalid = 55,
    ConfigUnsupported = 67,
    OperationTimeout = 68,
    NoDomain = 42,
    DomainExists = 52,
    SystemError = 38,
    ConfNotFound = 77,
    InvalidDomain = 7,
    XmlDetail = 35,
    SecurityError = 75,
    AgentUnresponsive = 86,
}

impl ErrorCode {
    pub fn number(self) -> i32 {
        self as i32
    }
}

/// libvirt's `virErrorDomain`: which part of the system raised the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorDomain {
    None = 0,
    Qemu = 10,
    Conf = 14,
    Dom = 20,
    Rpc = 7,
    Security = 24,
    Domain = 12,
    Config = 28,
}

/// An oxvirt error. `Display` prints the message alone, as virsh prints
/// `error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub domain: ErrorDomain,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Self {
        Error {
            code,
            domain,
            message: message.into(),
        }
    }
    pub fn xml(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::XmlError, ErrorDomain::Dom, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConfigUnsupported, ErrorDomain::Dom, message)
    }
    pub fn invalid_arg(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArg, ErrorDomain::Qemu, message)
    }
    pub fn operation_invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::OperationInvalid, ErrorDomain::Qemu, message)
    }
    pub fn operation_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::OperationFailed, ErrorDomain::Qemu, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, ErrorDomain::Qemu, message)
    }
    pub fn no_domain(name: &str) -> Self {
        Self::new(
            ErrorCode::NoDomain,
            ErrorDomain::Qemu,
            format!("Domain not found: no domain with matching name '{name}'"),
        )
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConfNotFound, ErrorDomain::Config, message)
    }
    /// A failed system call or file operation on `what`.
    pub fn system(what: impl fmt::Display, err: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::SystemError,
            ErrorDomain::Qemu,
            format!("{what}: {err}"),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
