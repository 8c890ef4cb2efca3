//! Raw declarations of libchrony (placeholder until the libchrony issue).
