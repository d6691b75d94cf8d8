//! Time as sessions record it (Unix seconds) and as status says it (`3 min ago`).

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `3 min ago` style ages for status.
pub fn age(since: u64) -> String {
    let secs = now().saturating_sub(since);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h {} min ago", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days ago", secs / 86400),
    }
}
