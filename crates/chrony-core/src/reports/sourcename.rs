//! NTP_SOURCE_NAME: the name a source was configured with (what `chronyc
//! -N sources` shows), by the source's address.

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::{DataFailure, Error, Result};
use crate::protocol::request::{cmd, rpy, Layout, Request};
use crate::protocol::wire::Reader;

/// The reply's name field: 256 bytes, NUL-padded (CMDMON.md §4.13).
const NAME_LEN: usize = 256;

/// NTP_SOURCE_NAME (command 65, reply 19; chronyd 4.0+): the name as
/// configured, a host name or the address text. The request names the
/// source by its address (family 3, `ID#…`, for one not resolved yet).
/// libchrony 0.2 has no such report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName(pub String);

impl Record for SourceName {
    const SPEC: Spec = Spec {
        name: "sourcename",
        method: "get_source_name",
        dataclass: "str",
        shape: Shape::Text,
        args: &["address"],
        udp: true,
    };

    fn request(_index: u32, args: &Args) -> Request {
        Request::new(
            cmd::NTP_SOURCE_NAME,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::NTP_SOURCE_NAME,
                len: NAME_LEN,
            }],
        )
        .with_body(&args.address().encode())
    }

    /// The name up to its first NUL. As chronyc, a name without a NUL in the
    /// field (one of 256 bytes or more, cut by chronyd) or with a character
    /// that is not printable ASCII is refused.
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        let field = r.bytes_at(0, NAME_LEN)?;
        let invalid = |why: &str| {
            Error::data(
                DataFailure::InvalidValue,
                format!("chronyd sent an invalid sourcename value: the name {why}"),
            )
        };
        let end = field
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| invalid("has no terminating NUL (256 bytes or longer)"))?;
        let name = &field[..end];
        if let Some(b) = name.iter().find(|b| !b.is_ascii_graphic()) {
            return Err(invalid(&format!(
                "holds the byte {b:#04x}, not printable ASCII"
            )));
        }
        Ok(SourceName(String::from_utf8_lossy(name).into_owned()))
    }

    fn from_fields(_fields: &dyn NamedFields) -> Result<Self> {
        // Not reached: the request has no libchrony form, so the backend
        // refuses the report before asking.
        Err(Error::Library {
            message: "libchrony has no sourcename report".into(),
            code: None,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.text("name", self.0.clone());
        Ok(f)
    }
}
