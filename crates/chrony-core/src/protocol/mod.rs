//! The native codec for chronyd's command protocol, version 6 (CMDMON.md).

pub mod reply;
pub mod request;
pub mod wire;

/// Protocol version spoken by chrony 1.29.1 and later.
pub const PROTO_VERSION: u8 = 6;
/// `pkt_type` of a request.
pub const PKT_REQUEST: u8 = 1;
/// `pkt_type` of a reply.
pub const PKT_REPLY: u8 = 2;
/// Length of a request header.
pub const REQUEST_HEADER_LEN: usize = 20;
/// Length of a reply header.
pub const REPLY_HEADER_LEN: usize = 28;
/// Largest datagram this client accepts (chronyd 4.x never sends more than
/// 860 bytes); anything longer is read whole and rejected as oversize.
pub const MAX_REPLY_LEN: usize = 1024;
