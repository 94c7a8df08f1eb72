//! Energy registers, accumulated window by window: active and apparent
//! energy from P and S, reactive energy from the fundamental Q1.

/// The most any energy register holds: the largest f64 below 2^63, so an
/// INT64 Wh register shows it without wrapping negative. Counters stop here,
/// as a meter's do, rather than roll over.
pub const MAX_ENERGY: f64 = 9_223_372_036_854_774_784.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Energy {
    pub wh_delivered: f64,
    pub wh_received: f64,
    pub varh_delivered: f64,
    pub varh_received: f64,
    pub vah: f64,
}

impl Energy {
    /// Adds `seconds` of total P (W), Q1 (var) and S (VA).
    pub fn add(&mut self, p: f64, q: f64, s: f64, seconds: f64) {
        let hours = seconds / 3600.0;
        if !hours.is_finite() || hours <= 0.0 {
            return;
        }
        if p.is_finite() {
            if p >= 0.0 {
                accumulate(&mut self.wh_delivered, p * hours);
            } else {
                accumulate(&mut self.wh_received, -p * hours);
            }
        }
        if q.is_finite() {
            if q >= 0.0 {
                accumulate(&mut self.varh_delivered, q * hours);
            } else {
                accumulate(&mut self.varh_received, -q * hours);
            }
        }
        if s.is_finite() && s >= 0.0 {
            accumulate(&mut self.vah, s * hours);
        }
    }
}

fn accumulate(register: &mut f64, amount: f64) {
    *register = (*register + amount).min(MAX_ENERGY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_and_received_are_kept_apart() {
        let mut e = Energy::default();
        e.add(3600.0, -720.0, 4000.0, 2.0);
        e.add(-1800.0, 360.0, 2000.0, 1.0);
        assert_eq!(e.wh_delivered, 2.0);
        assert_eq!(e.wh_received, 0.5);
        assert_eq!(e.varh_received, 0.4);
        assert_eq!(e.varh_delivered, 0.1);
        assert!((e.vah - 10000.0 / 3600.0).abs() < 1e-12);
    }

    #[test]
    fn registers_stop_at_their_maximum() {
        let mut e = Energy {
            wh_delivered: MAX_ENERGY - 1e3,
            ..Energy::default()
        };
        e.add(1e30, -1e30, f64::MAX, 3600.0);
        assert_eq!(e.wh_delivered, MAX_ENERGY);
        assert_eq!(e.varh_received, MAX_ENERGY);
        assert_eq!(e.vah, MAX_ENERGY);
        assert_eq!(MAX_ENERGY as i64 as f64, MAX_ENERGY, "exact in an INT64");
    }
}
