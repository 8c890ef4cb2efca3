//! A report's own arguments ([`Spec::args`]), given by name as text (the
//! Python keywords) and parsed here, once, for every layer above.

use super::{Shape, Spec};
use crate::error::{Error, Result};
use crate::protocol::wire::IpAddr;

/// The arguments of one report read. Reports without arguments get
/// [`Args::NONE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Args {
    address: Option<IpAddr>,
}

impl Args {
    /// No arguments.
    pub const NONE: Args = Args { address: None };

    /// A source's address (`address`).
    #[must_use]
    pub fn with_address(address: IpAddr) -> Self {
        Args {
            address: Some(address),
        }
    }

    /// The `address` argument (UNSPEC when none was given).
    #[must_use]
    pub fn address(&self) -> IpAddr {
        self.address.unwrap_or_default()
    }

    /// The `address` argument, when one was given.
    #[must_use]
    pub fn address_given(&self) -> Option<IpAddr> {
        self.address
    }

    /// Parses `given` (name, text) against the arguments `spec` declares:
    /// each declared one must be given once, nothing else may be. The
    /// arguments of a [`Shape::PerAddress`] report are optional (its
    /// `address` picks one source; without it, every source).
    ///
    /// `address` takes what a source's address shows (`Source.address`,
    /// chronyc -n): `192.0.2.1`, `2001:db8::1`, or `ID#0000000001` for a
    /// source whose name is not resolved yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming the report and the argument.
    pub fn parse(spec: &Spec, given: &[(&str, &str)]) -> Result<Args> {
        let mut args = Args::NONE;
        for (i, (name, text)) in given.iter().enumerate() {
            if given[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::invalid_argument(format!(
                    "the {} report got the argument {name:?} twice",
                    spec.name
                )));
            }
            match *name {
                "address" if spec.args.contains(&"address") => {
                    args.address = Some(parse_address(spec, text)?);
                }
                _ => {
                    return Err(Error::invalid_argument(format!(
                        "the {} report takes no argument {name:?}{}",
                        spec.name,
                        takes(spec)
                    )))
                }
            }
        }
        let optional = matches!(spec.shape, Shape::PerAddress { .. });
        if let Some(missing) = spec
            .args
            .iter()
            .find(|a| !optional && !given.iter().any(|(n, _)| n == *a))
        {
            return Err(Error::invalid_argument(format!(
                "the {} report needs the argument {missing:?}",
                spec.name
            )));
        }
        Ok(args)
    }
}

fn takes(spec: &Spec) -> String {
    if spec.args.is_empty() {
        " (it takes none)".into()
    } else {
        format!(" (it takes {})", spec.args.join(", "))
    }
}

fn parse_address(spec: &Spec, text: &str) -> Result<IpAddr> {
    IpAddr::parse(text).ok_or_else(|| {
        Error::invalid_argument(format!(
            "the {} report's address must be an NTP source's address as Source.address shows \
             it (an IPv4 or IPv6 address, or ID#NNNNNNNNNN for an unresolved source), got \
             {text:?}; a reference clock has no such address",
            spec.name
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{Activity, NtpData, Record, SourceName};

    const NAMED: Spec = SourceName::SPEC;
    const PLAIN: Spec = Activity::SPEC;

    #[test]
    fn addresses_as_sources_show_them() {
        for (text, want) in [
            ("192.0.2.1", IpAddr::V4([192, 0, 2, 1].into())),
            ("::1", IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
            ("ID#0000000001", IpAddr::Id(1)),
            ("ID#4294967295", IpAddr::Id(u32::MAX)),
        ] {
            let args = Args::parse(&NAMED, &[("address", text)]).unwrap();
            assert_eq!(args.address(), want, "{text}");
        }
        for bad in ["", "GPS", "ID#", "ID#x", "ID#4294967296", "host.example"] {
            let e = Args::parse(&NAMED, &[("address", bad)]).unwrap_err();
            assert_eq!(e.error_code(), Some(7), "{bad}");
            assert!(e.to_string().contains("ID#NNNNNNNNNN"), "{e}");
        }
    }

    #[test]
    fn a_per_address_report_takes_its_address_optionally() {
        let spec = NtpData::SPEC;
        let every = Args::parse(&spec, &[]).unwrap();
        assert_eq!(every.address_given(), None);
        let one = Args::parse(&spec, &[("address", "ID#0000000001")]).unwrap();
        assert_eq!(one.address_given(), Some(IpAddr::Id(1)));
        let e = Args::parse(&spec, &[("address", "GPS")]).unwrap_err();
        assert!(e.to_string().contains("reference clock"), "{e}");
    }

    #[test]
    fn declared_arguments_only_each_once() {
        assert_eq!(Args::parse(&PLAIN, &[]).unwrap(), Args::NONE);
        let e = Args::parse(&PLAIN, &[("address", "::1")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("takes no argument \"address\" (it takes none)"),
            "{e}"
        );
        let e = Args::parse(&NAMED, &[]).unwrap_err();
        assert!(
            e.to_string().contains("needs the argument \"address\""),
            "{e}"
        );
        let e = Args::parse(&NAMED, &[("address", "::1"), ("address", "::2")]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        let e = Args::parse(&NAMED, &[("address", "::1"), ("index", "1")]).unwrap_err();
        assert!(e.to_string().contains("(it takes address)"), "{e}");
    }
}
