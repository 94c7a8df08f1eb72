//! Numbers fitted to the room a cell has. A cell that cuts a number reads
//! as another number ("30.16" for 230.16, "765430.000" for -98765430), so a
//! number that does not fit loses decimals, then goes to scientific
//! notation, and when not even that fits shows the overflow mark: never
//! a digit or the sign cut off.

use super::MISSING;

/// Shown, as many as the cell has room for (at most four), for a number
/// that cannot be shown in the cell at any precision.
pub const OVERFLOW: char = '#';

/// Mantissa decimals scientific notation starts from: four significant
/// digits, as many as a reading needs.
const SCIENTIFIC_DECIMALS: usize = 3;

/// `value` with up to `decimals` places in at most `width` characters, or
/// the mark for missing when it is not a finite number. A negative value
/// that rounds to zero shows as 0.
pub fn fit(value: f64, decimals: usize, width: usize) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    for places in (0..=decimals).rev() {
        let shown = crate::report::fixed(value, places);
        if shown.len() <= width {
            return shown;
        }
    }
    for places in (0..=SCIENTIFIC_DECIMALS).rev() {
        let shown = format!("{value:.places$e}");
        if shown.len() <= width {
            return shown;
        }
    }
    overflow(width)
}

/// A whole count (a counter of the link's) in at most `width` characters.
pub fn fit_count(value: u64, width: usize) -> String {
    let shown = value.to_string();
    if shown.len() <= width {
        shown
    } else {
        fit(value as f64, 0, width)
    }
}

/// The overflow mark for a cell `width` wide.
pub fn overflow(width: usize) -> String {
    std::iter::repeat_n(OVERFLOW, width.clamp(1, 4)).collect()
}

/// Whether `text` is the overflow mark.
pub fn is_overflow(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c == OVERFLOW)
}

/// At most `room` characters, an ellipsis marking a cut: for words, never
/// for numbers.
pub fn clip(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    if room == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(room - 1).collect();
    out.push('…');
    out
}

/// How far a number drawn as `text` may be from the value it shows: half
/// its last place. `None` when `text` is not a number.
pub fn tolerance(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()?;
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let places = mantissa.split_once('.').map_or(0, |(_, f)| f.len());
    let places = i32::try_from(places).ok()?;
    Some(0.5 * 10f64.powi(exponent - places))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawn `text` is within its shown precision of `value`, or the mark.
    fn reads_back(value: f64, text: &str) -> bool {
        if is_overflow(text) {
            return true;
        }
        let (Ok(shown), Some(tolerance)) = (text.parse::<f64>(), tolerance(text)) else {
            return false;
        };
        (shown - value).abs() <= tolerance * (1.0 + 1e-9) + value.abs() * 1e-15
    }

    #[test]
    fn a_narrow_cell_loses_decimals_not_digits() {
        assert_eq!(fit(230.16, 2, 6), "230.16");
        assert_eq!(fit(230.16, 2, 5), "230.2");
        assert_eq!(fit(230.16, 2, 3), "230");
        assert_eq!(fit(80.927, 3, 5), "80.93");
        assert_eq!(fit(-98_765_432.0, 3, 9), "-98765432");
    }

    #[test]
    fn what_cannot_fit_goes_scientific_then_to_the_mark() {
        assert_eq!(fit(1e30, 3, 9), "1.000e30");
        assert_eq!(fit(-1e12, 3, 8), "-1.00e12");
        assert_eq!(fit(-1e12, 3, 7), "-1.0e12");
        assert_eq!(fit(-1e12, 3, 6), "-1e12");
        assert_eq!(fit(3.4e38, 3, 5), "3e38");
        assert_eq!(fit(-3.4e38, 3, 4), "####");
        assert_eq!(fit(99_900_000_000_000.0, 3, 9), "9.990e13");
        assert_eq!(fit(-5.0, 0, 1), "#");
    }

    #[test]
    fn no_minus_zero() {
        assert_eq!(fit(-0.0, 3, 9), "0.000");
        assert_eq!(fit(-0.0004, 3, 9), "0.000");
        assert_eq!(fit(-0.0004, 3, 1), "0");
        assert_eq!(fit(-0.0006, 3, 9), "-0.001");
    }

    #[test]
    fn not_a_number_is_missing() {
        assert_eq!(fit(f64::NAN, 2, 9), MISSING);
        assert_eq!(fit(f64::INFINITY, 2, 9), MISSING);
    }

    #[test]
    fn counts_stay_whole_while_they_fit() {
        assert_eq!(fit_count(123_456, 9), "123456");
        assert_eq!(fit_count(u64::MAX, 9), "1.845e19");
    }

    #[test]
    fn every_fit_is_in_its_width_and_reads_back() {
        let values = [
            0.0,
            -0.0,
            0.857,
            -0.857,
            1.0,
            -5.0,
            80.927,
            230.16,
            -230.16,
            99_900_000_000_000.0,
            -98_765_432.0,
            -1e12,
            1e30,
            3.4e38,
            -3.4e38,
            1.2e-7,
            -1.2e-7,
            f32::MAX as f64,
            f32::MIN as f64,
        ];
        for value in values {
            for decimals in 0..=4 {
                for width in 1..=16 {
                    let text = fit(value, decimals, width);
                    assert!(text.len() <= width, "{value} in {width}: {text}");
                    assert!(reads_back(value, &text), "{value} in {width}: {text}");
                    assert!(!text.starts_with("-0") || text.parse::<f64>() != Ok(0.0));
                }
            }
        }
    }

    #[test]
    fn tolerance_is_half_the_last_place() {
        assert_eq!(tolerance("230.2"), Some(0.05));
        assert_eq!(tolerance("1.00e30"), Some(0.5e28));
        assert_eq!(tolerance("12"), Some(0.5));
        assert_eq!(tolerance("n/a"), None);
    }
}
