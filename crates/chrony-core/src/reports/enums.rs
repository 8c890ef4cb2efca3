//! The wire enums of the pychrony reports; unknown values are kept.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know (a newer chronyd); the caller decides.
            Unknown(u16),
        }

        impl From<u16> for $name {
            fn from(v: u16) -> Self {
                match v {
                    $($value => $name::$variant,)+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u16 {
            fn from(v: $name) -> u16 {
                match v {
                    $($name::$variant => $value,)+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

wire_enum! {
    /// Leap status (libchrony `leap status`; chronyc "Leap status").
    LeapStatus {
        /// 0: normal.
        Normal = 0,
        /// 1: a leap second will be inserted.
        Insert = 1,
        /// 2: a leap second will be deleted.
        Delete = 2,
        /// 3: not synchronised.
        Unsync = 3,
    }
}

wire_enum! {
    /// Source state (libchrony `state`; chronyc column "S").
    SourceState {
        /// 0 `*`: selected, synchronising to it.
        Selected = 0,
        /// 1 `?`: not selectable (unreachable, no samples, noselect…).
        Nonselectable = 1,
        /// 2 `x`: falseticker.
        Falseticker = 2,
        /// 3 `~`: too variable.
        Jittery = 3,
        /// 4 `+`: combined with the selected source.
        Unselected = 4,
        /// 5 `-`: selectable but not combined.
        Selectable = 5,
    }
}

wire_enum! {
    /// Source mode (libchrony `mode`; chronyc column "M").
    SourceMode {
        /// 0 `^`: a server.
        Client = 0,
        /// 1 `=`: a symmetric peer.
        Peer = 1,
        /// 2 `#`: a reference clock.
        Refclock = 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_keep_unknown_values() {
        assert_eq!(LeapStatus::from(3), LeapStatus::Unsync);
        assert_eq!(LeapStatus::from(7), LeapStatus::Unknown(7));
        assert_eq!(u16::from(LeapStatus::Unknown(7)), 7);
        assert_eq!(SourceState::from(5), SourceState::Selectable);
        assert_eq!(u16::from(SourceState::Jittery), 3);
        assert_eq!(SourceMode::from(2), SourceMode::Refclock);
        assert_eq!(SourceMode::from(9), SourceMode::Unknown(9));
    }
}
