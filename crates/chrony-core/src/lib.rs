//! A read-only client for chronyd's command protocol ("cmdmon").
//!
//! It reads what chronyd knows about time synchronisation — every monitoring
//! report of [`reports::REGISTRY`], from tracking and sources to ntpdata,
//! selectdata, authdata and clients — over chronyd's Unix socket or its
//! UDP command port, and never changes chronyd's state. Every call has a
//! deadline: `timeout × (2^(retries+1) − 1)`, 7 s with the defaults.
//!
//! ```no_run
//! use chrony_core::{Client, ClientOptions};
//!
//! let client = Client::connect(Some("127.0.0.1"), ClientOptions::default())?;
//! let tracking = client.tracking()?;
//! println!("stratum {} offset {:+.9} s", tracking.stratum, tracking.last_offset);
//! for source in client.sources()? {
//!     println!("{} poll {} reach {:o}", source.name(), source.poll, source.reachability);
//! }
//! # Ok::<(), chrony_core::Error>(())
//! ```

pub mod address;
pub mod client;
pub mod error;
mod gate;
#[cfg(feature = "libchrony")]
pub mod libchrony;
pub mod options;
mod outcome;
pub mod protocol;
pub mod reports;
mod sys;
/// The former name of [`reports`].
pub use reports as report;
pub mod transport;

pub use address::Endpoint;
pub use client::{Backend, Client};
pub use error::{ConnectionFailure, DataFailure, Error, Result};
pub use options::{ClientOptions, TransportKind};
pub use protocol::wire::{refid_name, refid_name_chronyc, IpAddr, Timespec};
pub use reports::{
    LeapStatus, Record, RtcData, Source, SourceMode, SourceState, SourceStats, Tracking, REGISTRY,
};
