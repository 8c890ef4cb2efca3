//! The recorded fixtures of every chronyd version the lab runs
//! (`tests/fixtures/chronyd-<version>.json`, made by
//! `tests/lab/capture_fixtures.py`), for tests that check a report on each.

/// (version, fixture text) for chronyd 4.3, 4.6.1 and 4.9.
pub const FIXTURES: [(&str, &str); 3] = [
    ("4.3", include_str!("../fixtures/chronyd-4.3.json")),
    ("4.6.1", include_str!("../fixtures/chronyd-4.6.1.json")),
    ("4.9", include_str!("../fixtures/chronyd-4.9.json")),
];

/// The bytes of a fixture's hex string.
#[must_use]
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
