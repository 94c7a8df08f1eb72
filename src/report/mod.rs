//! Headless outputs shared by commands: tables, JSON and CSV.

pub mod analysis;
pub mod capture_csv;
pub mod capture_info;
pub mod csv;
pub mod json;

/// `value` with `digits` decimals for a table; a negative value that rounds
/// to zero shows as 0, since "-0.000 kvar" reads as a sign that is not there.
pub fn fixed(value: f64, digits: usize) -> String {
    let shown = format!("{value:.digits$}");
    match shown.strip_prefix('-') {
        Some(magnitude) if magnitude.bytes().all(|b| b == b'0' || b == b'.') => {
            magnitude.to_string()
        }
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn negatives_that_round_to_zero_lose_their_sign() {
        assert_eq!(super::fixed(-0.0004, 3), "0.000");
        assert_eq!(super::fixed(-0.0, 1), "0.0");
        assert_eq!(super::fixed(-0.0006, 3), "-0.001");
        assert_eq!(super::fixed(12.5, 0), "12");
    }
}
