//! Random values for sequence numbers and directory names.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Random 32-bit values keyed by the OS's randomness (SipHash over a counter).
pub(crate) struct Random {
    state: RandomState,
    counter: u64,
}

impl Random {
    pub(crate) fn new() -> Self {
        Random {
            state: RandomState::new(),
            counter: 0,
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        let mut h = self.state.build_hasher();
        h.write_u64(self.counter);
        h.finish()
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 16) as u32
    }

    /// `len` random letters and digits: ten from each 64-bit value (its
    /// base-62 digits; 62^10 < 2^64).
    pub(crate) fn alnum(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        const BASE: u64 = ALPHABET.len() as u64;
        const PER_VALUE: usize = 10;
        let mut out = String::with_capacity(len);
        let mut value = 0;
        for i in 0..len {
            if i % PER_VALUE == 0 {
                value = self.next_u64();
            }
            out.push(char::from(ALPHABET[(value % BASE) as usize]));
            value /= BASE;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Random;

    #[test]
    fn random_values_differ() {
        let mut r = Random::new();
        let a = r.next_u32();
        let b = r.next_u32();
        assert_ne!(a, b);
        let s = r.alnum(16);
        assert_eq!(s.len(), 16);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
        // Every character turns up, at every position.
        for position in [0, 5, 9, 10, 15] {
            let seen: std::collections::HashSet<u8> = (0..4000)
                .map(|_| r.alnum(16).as_bytes()[position])
                .collect();
            assert_eq!(seen.len(), 62, "position {position}");
        }
    }
}
