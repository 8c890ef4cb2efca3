//! AUTH_DATA: how each NTP source is authenticated (`chronyc authdata -a`).

use super::{Args, Field, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::{IpAddr, Reader};

/// AUTH_DATA (command 67, reply 20; chronyd 4.0+, Unix socket only): one
/// NTP source, asked for by its address (CMDMON.md §4.12). The reply does
/// not carry the address; [`Record::at_address`] adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthData {
    /// The source's address (what it was asked for by); chronyc "Name/IP
    /// address".
    pub address: IpAddr,
    /// libchrony `mode`: 0 none, 1 symmetric key, 2 NTS; chronyc "Mode"
    /// (`-`, `SK`, `NTS`).
    pub mode: u16,
    /// libchrony `key type`: symmetric 1 MD5, 2 SHA1, 3 SHA256, 4 SHA384,
    /// 5 SHA512, 6–9 SHA3-224/256/384/512, 10 TIGER, 11 WHIRLPOOL, 13
    /// AES128, 14 AES256 (CMAC); NTS AEAD 15/16/17 AES-SIV-CMAC-256/384/512,
    /// 30/31 AES-128/256-GCM-SIV; chronyc "Type".
    pub key_type: u16,
    /// libchrony `key ID` (NTS: the context); chronyc "KeyID".
    pub key_id: u32,
    /// libchrony `key length`, bits; chronyc "KLen".
    pub key_length: u16,
    /// libchrony `key establishment attempts`; chronyc "Atmp".
    pub ke_attempts: u16,
    /// libchrony `last key establishment ago`, seconds; 4294967295 never
    /// (or not NTS); chronyc "Last".
    pub last_ke_ago: u32,
    /// libchrony `cookies`; chronyc "Cook".
    pub cookies: u16,
    /// libchrony `cookie length`, bytes; chronyc "CLen".
    pub cookie_length: u16,
    /// libchrony `NAK`; chronyc "NAK".
    pub nak: bool,
}

impl Record for AuthData {
    const SPEC: Spec = Spec {
        name: "authdata",
        method: "get_auth_data",
        dataclass: "AuthData",
        shape: Shape::PerAddress { unresolved: true },
        args: &["address"],
        udp: false,
    };

    /// The request for the source at `args.address()`; libchrony asks by
    /// the source's `index` (it looks the address up itself).
    fn request(index: u32, args: &Args) -> Request {
        Request::new(
            cmd::AUTH_DATA,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::AUTH_DATA,
                len: 24,
            }],
        )
        .with_body(&args.address().encode())
        .via_libchrony(LibchronyAsk::Record(c"authdata", index))
    }

    /// One layout since chrony 4.0.
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(AuthData {
            address: IpAddr::Unspec,
            mode: r.u16(0)?,
            key_type: r.u16(2)?,
            key_id: r.u32(4)?,
            key_length: r.u16(8)?,
            ke_attempts: r.u16(10)?,
            last_ke_ago: r.u32(12)?,
            cookies: r.u16(16)?,
            cookie_length: r.u16(18)?,
            nak: r.u16(20)? != 0,
        })
    }

    fn at_address(self, address: IpAddr) -> Self {
        AuthData { address, ..self }
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(AuthData {
            address: IpAddr::Unspec,
            mode: f.u16("mode")?,
            key_type: f.u16("key type")?,
            key_id: f.u32("key ID")?,
            key_length: f.u16("key length")?,
            ke_attempts: f.u16("key establishment attempts")?,
            last_ke_ago: f.u32("last key establishment ago")?,
            cookies: f.u16("cookies")?,
            cookie_length: f.u16("cookie length")?,
            nak: f.u16("NAK")? != 0,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.address("address", self.address)
            .member_or_int("mode", Field::AUTH_MODE, self.mode)
            .int("key_type", self.key_type)
            .int("key_id", self.key_id)
            .int("key_length", self.key_length)
            .int("last_ke_ago", self.last_ke_ago)
            .int("ke_attempts", self.ke_attempts)
            .flag("nak", self.nak)
            .int("cookies", self.cookies)
            .int("cookie_length", self.cookie_length);
        Ok(f)
    }
}
