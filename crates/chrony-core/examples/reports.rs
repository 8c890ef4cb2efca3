//! Prints tracking, sources, sourcestats and RTC data for an address, in the
//! units chronyc uses.
//!
//! ```text
//! cargo run -p chrony-core --example reports -- [ADDRESS] [--timeout SECONDS] [--retries N]
//! ```
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::time::Duration;

use chrony_core::{
    refid_name_chronyc, Client, ClientOptions, Error, LeapStatus, SourceMode, SourceState,
};

fn leap_text(l: LeapStatus) -> String {
    match l {
        LeapStatus::Normal => "Normal".into(),
        LeapStatus::Insert => "Insert second".into(),
        LeapStatus::Delete => "Delete second".into(),
        LeapStatus::Unsync => "Not synchronised".into(),
        LeapStatus::Unknown(v) => format!("Unknown ({v})"),
    }
}

fn state_char(s: SourceState) -> char {
    match s {
        SourceState::Selected => '*',
        SourceState::Nonselectable => '?',
        SourceState::Falseticker => 'x',
        SourceState::Jittery => '~',
        SourceState::Unselected => '+',
        SourceState::Selectable => '-',
        SourceState::Unknown(_) => ' ',
    }
}

fn mode_char(m: SourceMode) -> char {
    match m {
        SourceMode::Client => '^',
        SourceMode::Peer => '=',
        SourceMode::Refclock => '#',
        SourceMode::Unknown(_) => ' ',
    }
}

fn run(address: Option<&str>, options: ClientOptions) -> Result<(), Error> {
    let client = Client::connect(address, options)?;
    println!(
        "chronyd at {} ({:?})\n",
        client.address(),
        client.transport_kind()
    );

    let t = client.tracking()?;
    println!(
        "Reference ID    : {:08X} ({})",
        t.reference_id,
        if t.address.is_unspec() {
            refid_name_chronyc(t.reference_id)
        } else {
            t.address.to_string()
        }
    );
    println!("Stratum         : {}", t.stratum);
    println!("Ref time (UTC)  : {:.9}", t.ref_time.as_f64());
    println!(
        "System time     : {:.9} seconds {} of NTP time",
        t.current_correction.abs(),
        if t.current_correction >= 0.0 {
            "slow"
        } else {
            "fast"
        }
    );
    println!("Last offset     : {:+.9} seconds", t.last_offset);
    println!("RMS offset      : {:.9} seconds", t.rms_offset);
    println!(
        "Frequency       : {:.3} ppm {}",
        t.frequency.abs(),
        if t.frequency >= 0.0 { "fast" } else { "slow" }
    );
    println!("Residual freq   : {:+.3} ppm", t.residual_frequency);
    println!("Skew            : {:.3} ppm", t.skew);
    println!("Root delay      : {:.9} seconds", t.root_delay);
    println!("Root dispersion : {:.9} seconds", t.root_dispersion);
    println!("Update interval : {:.1} seconds", t.last_update_interval);
    println!("Leap status     : {}\n", leap_text(t.leap_status));

    println!("MS Name/IP address         Stratum Poll Reach LastRx Last sample");
    for s in client.sources()? {
        let last = if s.last_sample_ago == u32::MAX {
            "-".to_string()
        } else {
            s.last_sample_ago.to_string()
        };
        println!(
            "{}{} {:<27} {:>2} {:>4} {:>5o} {:>6} {:+.9}[{:+.9}] +/- {:.9}",
            mode_char(s.mode),
            state_char(s.state),
            s.name(),
            s.stratum,
            s.poll,
            s.reachability,
            last,
            s.latest_meas,
            s.orig_latest_meas,
            s.latest_meas_err
        );
    }
    println!("\nName/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev");
    for s in client.source_stats()? {
        println!(
            "{:<27} {:>3} {:>3} {:>5} {:>10.3} {:>10.3} {:+.9} {:.9}",
            s.name(),
            s.samples,
            s.runs,
            s.span,
            s.resid_freq,
            s.skew,
            s.offset,
            s.std_dev
        );
    }
    println!();
    match client.rtc_data() {
        Ok(r) => {
            println!("RTC ref time (GMT) : {:.9}", r.ref_time.as_f64());
            println!("Number of samples  : {}", r.samples);
            println!("Number of runs     : {}", r.runs);
            println!("Sample span period : {}", r.span);
            println!("RTC is fast by     : {:.6} seconds", r.offset);
            println!("RTC gains time at  : {:.3} ppm", r.freq_offset);
        }
        Err(Error::NotAvailable { message }) => println!("rtcdata: {message}"),
        Err(e) => return Err(e),
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut address = None;
    let mut options = ClientOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--timeout" => {
                let secs: f64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(1.0);
                options.timeout = Duration::from_secs_f64(secs.clamp(0.001, 3600.0));
            }
            "--retries" => options.retries = args.next().and_then(|v| v.parse().ok()).unwrap_or(2),
            _ => address = Some(arg),
        }
    }
    match run(address.as_deref(), options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e} (error code {:?})", e.error_code());
            ExitCode::FAILURE
        }
    }
}
