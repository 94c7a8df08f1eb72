//! Date/time stamps of the cfg and the time of each sample.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// A cfg date/time stamp, with the fraction precision it was written with.
///
/// The precision matters: a 2013 file whose stamps carry nanoseconds counts its
/// data-file timestamps in nanoseconds rather than microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampTime {
    pub datetime: NaiveDateTime,
    pub nanosecond_precision: bool,
}

/// Order of the day and month in a date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 1991: mm/dd/yy.
    MonthFirst,
    /// 1999 and 2013: dd/mm/yyyy.
    DayFirst,
}

impl StampTime {
    pub fn from_datetime(datetime: NaiveDateTime) -> StampTime {
        StampTime {
            datetime,
            nanosecond_precision: false,
        }
    }

    /// Parses `date` and `time` fields; on failure says what was expected.
    pub fn parse(date: &str, time: &str, order: DateOrder) -> Result<StampTime, String> {
        let date = parse_date(date.trim(), order)?;
        let (time, nanosecond_precision) = parse_time(time.trim())?;
        Ok(StampTime {
            datetime: NaiveDateTime::new(date, time),
            nanosecond_precision,
        })
    }

    /// `dd/mm/yyyy,hh:mm:ss.ffffff` (nine fraction digits when nanosecond precision).
    pub fn to_cfg(&self, nanoseconds: bool) -> String {
        let dt = self.datetime;
        let (sec, nanos) = split_leap(dt.time());
        let fraction = if nanoseconds {
            format!("{nanos:09}")
        } else {
            format!("{:06}", nanos / 1000)
        };
        format!(
            "{:02}/{:02}/{:04},{:02}:{:02}:{:02}.{fraction}",
            dt.day(),
            dt.month(),
            dt.year(),
            dt.hour(),
            dt.minute(),
            sec
        )
    }

    /// ISO 8601 without a zone: COMTRADE stamps are local unless the 2013 time code says otherwise.
    pub fn to_iso(&self) -> String {
        if self.nanosecond_precision {
            self.datetime.format("%Y-%m-%dT%H:%M:%S%.9f").to_string()
        } else {
            self.datetime.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
        }
    }
}

/// chrono keeps a leap second as 59 s plus a fraction of one second or more.
fn split_leap(time: NaiveTime) -> (u32, u32) {
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        (60, nanos - 1_000_000_000)
    } else {
        (time.second(), nanos)
    }
}

fn parse_date(text: &str, order: DateOrder) -> Result<NaiveDate, String> {
    let parts: Vec<&str> = text.split('/').map(str::trim).collect();
    let expected = match order {
        DateOrder::MonthFirst => "mm/dd/yy",
        DateOrder::DayFirst => "dd/mm/yyyy",
    };
    let [first, second, year] = parts[..] else {
        return Err(format!("expected a date {expected}, found '{text}'"));
    };
    let number = |s: &str| s.parse::<u32>().ok();
    let (Some(first), Some(second), Some(year_raw)) = (number(first), number(second), number(year))
    else {
        return Err(format!("expected a date {expected}, found '{text}'"));
    };
    let year = if year.len() <= 2 {
        // Two-digit years of 1991 files: the standard predates 2000, recorders did not.
        if year_raw >= 70 {
            1900 + year_raw
        } else {
            2000 + year_raw
        }
    } else {
        year_raw
    };
    let (day, month) = match order {
        DateOrder::MonthFirst => (second, first),
        DateOrder::DayFirst => (first, second),
    };
    i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or_else(|| format!("expected a date {expected}, found '{text}' (no such day)"))
}

fn parse_time(text: &str) -> Result<(NaiveTime, bool), String> {
    let bad = || format!("expected a time hh:mm:ss.ffffff, found '{text}'");
    let mut parts = text.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let fraction = fraction.trim();
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits: u32 = fraction.parse().map_err(|_| bad())?;
        digits * 10u32.pow(9 - fraction.len() as u32)
    };
    let number = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
    let (h, m, sec) = (number(h)?, number(m)?, number(whole)?);
    let time = if sec == 60 {
        NaiveTime::from_hms_nano_opt(h, m, 59, 1_000_000_000 + nanos)
    } else {
        NaiveTime::from_hms_nano_opt(h, m, sec, nanos)
    };
    time.map(|t| (t, fraction.len() > 6)).ok_or_else(bad)
}

/// One sample-rate segment: `rate` Hz up to and including sample `end_sample` (1-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSegment {
    pub rate: f64,
    pub end_sample: u64,
}

/// How the time of each sample is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// The cfg's sample-rate segments.
    Rates(Vec<RateSegment>),
    /// The data file's timestamps, each worth `seconds_per_tick` (timemult times the base unit).
    Timestamps { seconds_per_tick: f64 },
}

impl Timing {
    /// Chooses rates when every declared rate is positive, else timestamps.
    pub fn choose(rates: &[RateSegment], timemult: f64, nanosecond_stamps: bool) -> Timing {
        if !rates.is_empty() && rates.iter().all(|r| r.rate > 0.0 && r.rate.is_finite()) {
            Timing::Rates(rates.to_vec())
        } else {
            let base = if nanosecond_stamps { 1e-9 } else { 1e-6 };
            Timing::Timestamps {
                seconds_per_tick: base * timemult,
            }
        }
    }

    /// Seconds of each of `count` samples from the first one. With
    /// timestamps, a missing stamp gives NaN.
    pub fn sample_times(
        &self,
        count: usize,
        timestamps: impl Fn(usize) -> Option<i64>,
    ) -> Vec<f64> {
        match self {
            Timing::Rates(segments) => rate_times(segments, count),
            Timing::Timestamps { seconds_per_tick } => {
                let first = (0..count).find_map(&timestamps).unwrap_or(0);
                (0..count)
                    .map(|i| match timestamps(i) {
                        Some(ts) => (ts as i128 - first as i128) as f64 * seconds_per_tick,
                        None => f64::NAN,
                    })
                    .collect()
            }
        }
    }
}

/// The longest span a capture may claim, seconds (about 31 years): longer
/// comes from corrupt timestamps, a corrupt timemult or a rate near zero, and
/// would have the meter step through ages that no sample covers.
pub const MAX_SPAN_S: f64 = 1e9;

impl Timing {
    /// The first of `count` samples whose time is not within [`MAX_SPAN_S`]
    /// of the first sample, with that time (perhaps infinite).
    pub fn beyond_span(
        &self,
        count: usize,
        timestamps: impl Fn(usize) -> Option<i64>,
    ) -> Option<(usize, f64)> {
        let within = |t: f64| t.abs() <= MAX_SPAN_S;
        match self {
            // Rate times only grow, so the last sample is the one to check.
            Timing::Rates(segments) => {
                let t = last_rate_time(segments, count as u64);
                (!within(t)).then_some((count.saturating_sub(1), t))
            }
            Timing::Timestamps { seconds_per_tick } => {
                let first = (0..count).find_map(&timestamps)?;
                (0..count).find_map(|i| {
                    let ts = timestamps(i)?;
                    let t = (ts as i128 - first as i128) as f64 * seconds_per_tick;
                    (!within(t)).then_some((i, t))
                })
            }
        }
    }
}

/// How many times the usual step between stamps makes a jump worth a word.
pub const JUMP_FACTOR: f64 = 100.0;

/// A stamped record out of step with those before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StampJump {
    /// 0-based record.
    pub record: usize,
    /// Seconds from the record before; negative when time runs back.
    pub step_s: f64,
}

impl Timing {
    /// With timestamps: the usual step between records (the median of the
    /// first ten thousand that go forward; infinite when none do), and the records whose stamp runs back or jumps
    /// ahead more than [`JUMP_FACTOR`] usual steps, the first `most` of them
    /// and how many in all. Rates give none.
    pub fn stamp_jumps(
        &self,
        count: usize,
        timestamps: impl Fn(usize) -> Option<i64>,
        most: usize,
    ) -> (f64, Vec<StampJump>, usize) {
        let Timing::Timestamps { seconds_per_tick } = self else {
            return (0.0, Vec::new(), 0);
        };
        let step = |i: usize| -> Option<f64> {
            let (a, b) = (timestamps(i - 1)?, timestamps(i)?);
            Some((b as i128 - a as i128) as f64 * seconds_per_tick)
        };
        let mut usual: Vec<f64> = (1..count.min(10_001))
            .filter_map(step)
            .filter(|s| *s > 0.0)
            .collect();
        usual.sort_by(f64::total_cmp);
        // With no step forward at all there is no usual step: every step
        // back is still one.
        let typical = usual.get(usual.len() / 2).copied().unwrap_or(f64::INFINITY);
        let (mut jumps, mut all) = (Vec::new(), 0);
        for record in 1..count {
            match step(record) {
                Some(s) if s < 0.0 || s > JUMP_FACTOR * typical => {
                    all += 1;
                    if jumps.len() < most {
                        jumps.push(StampJump { record, step_s: s });
                    }
                }
                _ => {}
            }
        }
        (typical, jumps, all)
    }
}

/// The time of sample `count` (1-based) as [`rate_times`] gives it, without the others.
fn last_rate_time(segments: &[RateSegment], count: u64) -> f64 {
    let (mut anchor, mut anchor_time) = (1u64, 0.0);
    for (k, segment) in segments.iter().enumerate() {
        if k + 1 == segments.len() || count <= segment.end_sample {
            return anchor_time + count.saturating_sub(anchor) as f64 / segment.rate;
        }
        let end = segment.end_sample.max(anchor);
        anchor_time += (end - anchor) as f64 / segment.rate;
        anchor = end;
    }
    0.0
}

/// Each sample is 1/rate after the one before, where rate is that of the
/// segment the sample belongs to; samples past the last segment keep its rate.
/// Segments that repeat an end sample hold no samples and are skipped. Times
/// are counted from each segment's start, so rounding does not accumulate.
fn rate_times(segments: &[RateSegment], count: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(count);
    let mut segment = 0;
    // The last sample before the current segment, and its time.
    let (mut anchor, mut anchor_time) = (1u64, 0.0);
    for position in 1..=count as u64 {
        while segment + 1 < segments.len() && position > segments[segment].end_sample {
            let end = segments[segment].end_sample.max(anchor);
            anchor_time += (end - anchor) as f64 / segments[segment].rate;
            anchor = end;
            segment += 1;
        }
        times.push(anchor_time + (position - anchor) as f64 / segments[segment].rate);
    }
    times
}

impl Default for StampTime {
    fn default() -> Self {
        StampTime::from_datetime(NaiveDateTime::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_first_and_month_first_dates() {
        let t = StampTime::parse("12/01/2011", "05:55:30.075011", DateOrder::DayFirst).unwrap();
        assert_eq!(t.to_iso(), "2011-01-12T05:55:30.075011");
        let t = StampTime::parse("09/17/15", "10:52:52.987545", DateOrder::MonthFirst).unwrap();
        assert_eq!(t.to_iso(), "2015-09-17T10:52:52.987545");
    }

    #[test]
    fn nanosecond_fraction_is_kept() {
        let t = StampTime::parse("17/02/2021", "17:37:12.422969065", DateOrder::DayFirst).unwrap();
        assert!(t.nanosecond_precision);
        assert_eq!(t.to_cfg(true), "17/02/2021,17:37:12.422969065");
        assert_eq!(t.to_cfg(false), "17/02/2021,17:37:12.422969");
    }

    #[test]
    fn leap_second_round_trips() {
        let t = StampTime::parse("31/12/2016", "23:59:60.5", DateOrder::DayFirst).unwrap();
        assert_eq!(t.to_cfg(false), "31/12/2016,23:59:60.500000");
    }

    #[test]
    fn impossible_dates_are_refused() {
        let err = StampTime::parse("31/02/2011", "00:00:00", DateOrder::DayFirst).unwrap_err();
        assert!(err.contains("no such day"), "{err}");
        assert!(StampTime::parse("2011-01-01", "00:00:00", DateOrder::DayFirst).is_err());
        assert!(StampTime::parse("01/01/2011", "25:00:00", DateOrder::DayFirst).is_err());
    }

    #[test]
    fn rate_segments_give_times() {
        let segments = [
            RateSegment {
                rate: 1000.0,
                end_sample: 3,
            },
            RateSegment {
                rate: 1000.0,
                end_sample: 3,
            },
            RateSegment {
                rate: 500.0,
                end_sample: 5,
            },
        ];
        let times = Timing::Rates(segments.to_vec()).sample_times(6, |_| None);
        let expected = [0.0, 0.001, 0.002, 0.004, 0.006, 0.008];
        for (t, e) in times.iter().zip(expected) {
            assert!((t - e).abs() < 1e-12, "{times:?}");
        }
    }

    #[test]
    fn the_last_rate_time_is_the_one_every_time_gives() {
        let segments = vec![
            RateSegment {
                rate: 1000.0,
                end_sample: 3,
            },
            RateSegment {
                rate: 500.0,
                end_sample: 5,
            },
        ];
        for count in 1..9 {
            let all = Timing::Rates(segments.clone()).sample_times(count, |_| None);
            let last = last_rate_time(&segments, count as u64);
            assert!(
                (all[count - 1] - last).abs() < 1e-12,
                "{count}: {all:?} {last}"
            );
        }
    }

    #[test]
    fn spans_beyond_any_recording_are_found_with_their_record() {
        let timing = Timing::Timestamps {
            seconds_per_tick: 1e-6 * 1e300,
        };
        let stamps = [0, 0, 5, 9];
        let (record, t) = timing.beyond_span(4, |i| Some(stamps[i])).unwrap();
        assert_eq!(record, 2);
        assert!(t > MAX_SPAN_S, "{t}");
        let ordinary = Timing::Timestamps {
            seconds_per_tick: 1e-6,
        };
        assert_eq!(ordinary.beyond_span(4, |i| Some(stamps[i])), None);
        let slow = Timing::Rates(vec![RateSegment {
            rate: 1e-300,
            end_sample: 2,
        }]);
        assert_eq!(slow.beyond_span(2, |_| None).map(|(r, _)| r), Some(1));
    }

    #[test]
    fn stamps_that_run_back_or_jump_ahead_are_found() {
        let stamps = [0, 100, 200, 300, 900_300, 900_400, 900_350, 900_450];
        let timing = Timing::Timestamps {
            seconds_per_tick: 1e-6,
        };
        let (typical, jumps, all) = timing.stamp_jumps(stamps.len(), |i| Some(stamps[i]), 5);
        assert!((typical - 1e-4).abs() < 1e-12, "{typical}");
        assert_eq!(all, 2);
        assert_eq!(jumps[0].record, 4);
        assert!((jumps[0].step_s - 0.9).abs() < 1e-9);
        assert_eq!(jumps[1].record, 6);
        assert!(jumps[1].step_s < 0.0);
        let (_, first, all) = timing.stamp_jumps(stamps.len(), |i| Some(stamps[i]), 1);
        assert_eq!((first.len(), all), (1, 2));
        let backwards = [300, 200, 100, 0];
        let (_, jumps, all) = timing.stamp_jumps(4, |i| Some(backwards[i]), 5);
        assert_eq!(all, 3, "every step of a capture stamped backwards");
        assert!(jumps.iter().all(|j| j.step_s < 0.0));
        let rates = Timing::Rates(vec![]);
        assert_eq!(rates.stamp_jumps(8, |i| Some(stamps[i]), 5).2, 0);
    }

    #[test]
    fn timestamps_give_times_when_no_rate() {
        let timing = Timing::choose(
            &[RateSegment {
                rate: 0.0,
                end_sample: 3,
            }],
            2.0,
            false,
        );
        let stamps = [10, 20, 40];
        let times = timing.sample_times(3, |i| Some(stamps[i]));
        for (t, e) in times.iter().zip([0.0, 20e-6, 60e-6]) {
            assert!((t - e).abs() < 1e-15, "{times:?}");
        }
    }
}
