//! Procedure numbers of the `remote` program (libvirt 9.0.0), the `qemu` program and the
//! feature numbers of `CONNECT_SUPPORTS_FEATURE`, for the handlers and the client. Only
//! the procedures oxvirt handles or sends are named here; every procedure, with its
//! access rule, is in [`crate::procedures`].

pub const CONNECT_OPEN: i32 = 1;
pub const CONNECT_CLOSE: i32 = 2;
pub const CONNECT_GET_TYPE: i32 = 3;
pub const CONNECT_GET_VERSION: i32 = 4;
pub const NODE_GET_INFO: i32 = 6;
pub const CONNECT_GET_CAPABILITIES: i32 = 7;
pub const DOMAIN_CREATE: i32 = 9;
pub const DOMAIN_CREATE_XML: i32 = 10;
pub const DOMAIN_DEFINE_XML: i32 = 11;
pub const DOMAIN_DESTROY: i32 = 12;
pub const DOMAIN_GET_XML_DESC: i32 = 14;
pub const DOMAIN_GET_AUTOSTART: i32 = 15;
pub const DOMAIN_GET_INFO: i32 = 16;
pub const DOMAIN_GET_MAX_MEMORY: i32 = 17;
pub const DOMAIN_GET_OS_TYPE: i32 = 19;
pub const DOMAIN_LOOKUP_BY_ID: i32 = 22;
pub const DOMAIN_LOOKUP_BY_NAME: i32 = 23;
pub const DOMAIN_LOOKUP_BY_UUID: i32 = 24;
pub const DOMAIN_RESUME: i32 = 28;
pub const DOMAIN_SHUTDOWN: i32 = 33;
pub const DOMAIN_SUSPEND: i32 = 34;
pub const DOMAIN_UNDEFINE: i32 = 35;
pub const CONNECT_GET_HOSTNAME: i32 = 59;
pub const CONNECT_SUPPORTS_FEATURE: i32 = 60;
pub const AUTH_LIST: i32 = 66;
pub const CONNECT_GET_URI: i32 = 110;
pub const DOMAIN_GET_SECURITY_LABEL: i32 = 121;
pub const NODE_GET_SECURITY_MODEL: i32 = 122;
pub const CONNECT_DOMAIN_XML_FROM_NATIVE: i32 = 135;
pub const CONNECT_DOMAIN_XML_TO_NATIVE: i32 = 136;
pub const CONNECT_IS_SECURE: i32 = 149;
pub const DOMAIN_IS_ACTIVE: i32 = 150;
pub const DOMAIN_IS_PERSISTENT: i32 = 151;
pub const CONNECT_GET_LIB_VERSION: i32 = 157;
pub const DOMAIN_HAS_MANAGED_SAVE_IMAGE: i32 = 183;
pub const DOMAIN_SNAPSHOT_NUM: i32 = 187;
pub const DOMAIN_CREATE_WITH_FLAGS: i32 = 196;
pub const DOMAIN_GET_STATE: i32 = 212;
pub const DOMAIN_UNDEFINE_FLAGS: i32 = 231;
pub const DOMAIN_DESTROY_FLAGS: i32 = 234;
pub const DOMAIN_SHUTDOWN_FLAGS: i32 = 258;
pub const CONNECT_LIST_ALL_DOMAINS: i32 = 273;
pub const CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: i32 = 316;
pub const CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: i32 = 317;
pub const DOMAIN_EVENT_CALLBACK_LIFECYCLE: i32 = 318;
pub const CONNECT_GET_DOMAIN_CAPABILITIES: i32 = 342;
pub const DOMAIN_DEFINE_XML_FLAGS: i32 = 350;
pub const CONNECT_REGISTER_CLOSE_CALLBACK: i32 = 360;
pub const CONNECT_UNREGISTER_CLOSE_CALLBACK: i32 = 361;
pub const DOMAIN_GET_MESSAGES: i32 = 426;

/// `qemu` program: `qemu-monitor-command`.
pub const QEMU_DOMAIN_MONITOR_COMMAND: i32 = 1;

/// `virDrvFeature` numbers asked through `CONNECT_SUPPORTS_FEATURE`.
pub mod feature {
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
}

/// `virDomainEventID`: the one event oxvirt sends.
pub const EVENT_ID_LIFECYCLE: i32 = 0;
/// The highest event id libvirt 9.0 defines (virsh registers 0..=26).
pub const EVENT_ID_LAST: i32 = 26;

/// `virConnectListAllDomainsFlags`.
pub mod list_flags {
    pub const ACTIVE: u32 = 1;
    pub const INACTIVE: u32 = 2;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
    pub const RUNNING: u32 = 16;
    pub const PAUSED: u32 = 32;
    pub const SHUTOFF: u32 = 64;
    pub const OTHER: u32 = 128;
}
