//! What both backends share about a call: the options, the deadline policy
//! and the kind of socket. Nothing here knows about either backend.

use std::time::{Duration, Instant};

/// Timing options. `Default` is chronyc's: 1 s, 2 retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Wait for a reply before the request is resent with a fresh sequence
    /// number; each resend doubles the wait.
    pub timeout: Duration,
    /// Number of resends.
    pub retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(1),
            retries: 2,
        }
    }
}

impl ClientOptions {
    /// The longest one call may take: `timeout × (2^(retries+1) − 1)`
    /// (7 s by default).
    #[must_use]
    pub fn call_budget(&self) -> Duration {
        let factor = 1u32
            .checked_shl(self.retries.saturating_add(1))
            .map_or(u32::MAX, |f| f - 1);
        self.timeout.checked_mul(factor).unwrap_or(Duration::MAX)
    }

    /// The wait for a reply to attempt `attempt` (0 for the first send):
    /// `timeout × 2^attempt`, saturating.
    #[must_use]
    pub fn wait(&self, attempt: u32) -> Duration {
        self.timeout
            .checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .unwrap_or(Duration::MAX)
    }

    pub(crate) fn policy(&self) -> Policy {
        let now = Instant::now();
        let budget = self.call_budget();
        // The engine gives up a little before the bound (1 ms, or a tenth of
        // a tiny budget), so that the whole call, with the caller's own
        // overhead (e.g. the Python layer), stays within it.
        let margin = (budget / 10).min(Duration::from_millis(1));
        Policy {
            timeout: self.timeout,
            retries: self.retries,
            deadline: now
                .checked_add(budget.saturating_sub(margin))
                .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365)),
            started: now,
        }
    }
}

/// Which kind of socket a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// chronyd's Unix socket: every command allowed.
    UnixSocket,
    /// The UDP command port: monitoring commands only.
    CommandPort,
}

/// The timing policy of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Wait for the first reply; each resend doubles it.
    pub timeout: Duration,
    /// Resends per request.
    pub retries: u32,
    /// No part of the call runs past this instant.
    pub deadline: Instant,
    /// When the call began (before it waited for other calls).
    pub started: Instant,
}

impl Policy {
    /// The wait for a reply to attempt `attempt`, as [`ClientOptions::wait`].
    pub(crate) fn wait(&self, attempt: u32) -> Duration {
        ClientOptions {
            timeout: self.timeout,
            retries: self.retries,
        }
        .wait(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_the_sum_of_doubling_waits() {
        assert_eq!(
            ClientOptions::default().call_budget(),
            Duration::from_secs(7)
        );
        let o = ClientOptions {
            timeout: Duration::from_millis(50),
            retries: 0,
        };
        assert_eq!(o.call_budget(), Duration::from_millis(50));
        let huge = ClientOptions {
            timeout: Duration::from_secs(3600),
            retries: 40,
        };
        assert!(huge.call_budget() > Duration::from_secs(86_400 * 365 * 1000));
        let _ = huge.policy();
    }
}
