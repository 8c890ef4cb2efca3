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

    pub(crate) fn alnum(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize]))
            .collect()
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
    }
}
