//! How a point's value sits in 16-bit registers: the data types of vendor
//! register maps, each encoded and decoded here and nowhere else.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// Order of the 16-bit words of a multi-register value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// Most significant word first (Modbus's own byte order, extended).
    #[default]
    HighFirst,
    LowFirst,
}

/// A point's data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointType {
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    /// UTF-8 text of this many registers, two bytes each, NUL-padded.
    Utf8(u16),
    /// PowerLogic date and time, four registers: year − 2000; month << 8 |
    /// day; hour << 8 | minute; milliseconds within the minute.
    #[serde(rename = "datetime")]
    DateTime,
    /// A power factor coded over −2..2 so the quadrant survives: above 1
    /// means 2 − x (leading), below −1 means −2 − x. Written `pf4q`;
    /// `power_factor4q` is read as the same.
    #[serde(rename = "pf4q", alias = "power_factor4q")]
    PowerFactor4q,
    /// Three registers: major, minor, patch.
    Version,
}

impl PointType {
    /// Registers one value takes.
    pub fn registers(self) -> u16 {
        match self {
            PointType::U16 | PointType::I16 => 1,
            PointType::U32 | PointType::I32 | PointType::F32 | PointType::PowerFactor4q => 2,
            PointType::U64 | PointType::I64 | PointType::DateTime => 4,
            PointType::Version => 3,
            PointType::Utf8(n) => n,
        }
    }

    /// The name used on the command line and in profiles.
    pub fn name(self) -> String {
        match self {
            PointType::Utf8(n) => format!("utf8({n})"),
            other => ron::to_string(&other).unwrap_or_default(),
        }
    }

    /// Parses the `--type` of an ad-hoc read: u16, i16, u32, i32, u64, i64,
    /// f32, utf8(N) or utf8:N, datetime, pf4q, version.
    pub fn parse(text: &str) -> Result<PointType, String> {
        let text = text.trim().to_ascii_lowercase();
        let simple = match text.as_str() {
            "u16" => Some(PointType::U16),
            "i16" => Some(PointType::I16),
            "u32" => Some(PointType::U32),
            "i32" => Some(PointType::I32),
            "u64" => Some(PointType::U64),
            "i64" => Some(PointType::I64),
            "f32" | "float" => Some(PointType::F32),
            "datetime" => Some(PointType::DateTime),
            "pf4q" | "power_factor4q" => Some(PointType::PowerFactor4q),
            "version" => Some(PointType::Version),
            _ => None,
        };
        if let Some(kind) = simple {
            return Ok(kind);
        }
        let length = text
            .strip_prefix("utf8(")
            .and_then(|r| r.strip_suffix(')'))
            .or_else(|| text.strip_prefix("utf8:"));
        match length.map(str::parse::<u16>) {
            Some(Ok(n)) if (1..=125).contains(&n) => Ok(PointType::Utf8(n)),
            _ => Err(format!(
                "'{text}': types are u16, i16, u32, i32, u64, i64, f32, utf8(N) with N 1..125, \
                 datetime, pf4q, version"
            )),
        }
    }
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    Number(f64),
    /// A 64-bit integer, exactly as the registers hold it (an f64 would
    /// round it above 2^53).
    Integer(i128),
    Text(String),
    /// Not available: a NaN float, as a meter marks a value it lacks.
    Missing,
}

impl Serialize for PointValue {
    /// Whole numbers as integers (a register count reads 2, not 2.0),
    /// missing values as null.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Every whole f64 below 2^63 (2^64 if positive) converts
            // exactly: an f32 reading 9.223372e15 prints 9223372000000000,
            // not with a `.0`. `i64::MAX as f64` is 2^63 itself.
            PointValue::Number(v) if v.fract() == 0.0 && v.abs() < i64::MAX as f64 => {
                serializer.serialize_i64(*v as i64)
            }
            PointValue::Number(v) if v.fract() == 0.0 && (0.0..u64::MAX as f64).contains(v) => {
                serializer.serialize_u64(*v as u64)
            }
            PointValue::Number(v) => serializer.serialize_f64(*v),
            PointValue::Integer(v) => match (i64::try_from(*v), u64::try_from(*v)) {
                (Ok(v), _) => serializer.serialize_i64(v),
                (_, Ok(v)) => serializer.serialize_u64(v),
                _ => serializer.serialize_str(&v.to_string()),
            },
            PointValue::Text(t) => serializer.serialize_str(t),
            PointValue::Missing => serializer.serialize_none(),
        }
    }
}

impl PointValue {
    pub fn number(&self) -> Option<f64> {
        match self {
            PointValue::Number(v) => Some(*v),
            PointValue::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}

/// Puts `words` (most significant first) in the register order asked for.
fn ordered(mut words: Vec<u16>, order: WordOrder) -> Vec<u16> {
    if order == WordOrder::LowFirst {
        words.reverse();
    }
    words
}

/// Registers back to most-significant-first words.
fn words(registers: &[u16], order: WordOrder) -> Vec<u16> {
    let mut words = registers.to_vec();
    if order == WordOrder::LowFirst {
        words.reverse();
    }
    words
}

fn join(words: &[u16]) -> u64 {
    words.iter().fold(0u64, |acc, &w| (acc << 16) | w as u64)
}

fn split(value: u64, count: usize) -> Vec<u16> {
    (0..count)
        .rev()
        .map(|k| (value >> (16 * k)) as u16)
        .collect()
}

/// Decodes one value of `kind` from exactly `kind.registers()` registers;
/// `scale` multiplies integer types.
pub fn decode(kind: PointType, registers: &[u16], order: WordOrder, scale: f64) -> PointValue {
    if registers.len() != kind.registers() as usize {
        return PointValue::Missing;
    }
    let w = words(registers, order);
    let number = |v: f64| PointValue::Number(scaled(v, scale));
    match kind {
        PointType::U16 => number(w[0] as f64),
        PointType::I16 => number(w[0] as i16 as f64),
        PointType::U32 => number(join(&w) as u32 as f64),
        PointType::I32 => number(join(&w) as u32 as i32 as f64),
        PointType::U64 if scale == 1.0 => PointValue::Integer(join(&w) as i128),
        PointType::I64 if scale == 1.0 => PointValue::Integer(join(&w) as i64 as i128),
        PointType::U64 => number(join(&w) as f64),
        PointType::I64 => number(join(&w) as i64 as f64),
        PointType::F32 => float(f32::from_bits(join(&w) as u32), scale),
        PointType::PowerFactor4q => match shortest(f32::from_bits(join(&w) as u32)) {
            x if x.is_nan() => PointValue::Missing,
            x if x > 1.0 => PointValue::Number(f32_digits(2.0 - x)),
            x if x < -1.0 => PointValue::Number(f32_digits(-2.0 - x)),
            x => PointValue::Number(x),
        },
        PointType::Utf8(_) => {
            // Registers as written, high byte first; the text ends at the first NUL.
            let bytes: Vec<u8> = registers.iter().flat_map(|r| r.to_be_bytes()).collect();
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            PointValue::Text(
                String::from_utf8_lossy(&bytes[..end])
                    .trim_end()
                    .to_string(),
            )
        }
        PointType::DateTime => match date_time(registers) {
            Some(t) => PointValue::Text(t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
            None => PointValue::Missing,
        },
        PointType::Version => PointValue::Text(format!(
            "{}.{}.{}",
            registers[0], registers[1], registers[2]
        )),
    }
}

/// `raw · scale`, dividing by the inverse for decimal fractions so 4987
/// at 0.01 reads 49.87, not 49.870000000000005. Never −0.
fn scaled(raw: f64, scale: f64) -> f64 {
    let v = if scale.abs() < 1.0 && scale != 0.0 {
        raw / (1.0 / scale)
    } else {
        raw * scale
    };
    v + 0.0
}

/// An f32 as the f64 of its shortest decimal form, so 229.99 stays 229.99
/// in every output rather than becoming 229.99000549316406.
fn shortest(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(value as f64) + 0.0
}

/// Arithmetic on an f32's value kept to the f32's seven significant digits.
fn f32_digits(value: f64) -> f64 {
    format!("{value:.6e}").parse().unwrap_or(value) + 0.0
}

fn float(value: f32, scale: f64) -> PointValue {
    if value.is_nan() {
        PointValue::Missing
    } else if scale == 1.0 {
        PointValue::Number(shortest(value))
    } else {
        PointValue::Number(f32_digits(scaled(shortest(value), scale)))
    }
}

fn date_time(r: &[u16]) -> Option<NaiveDateTime> {
    let year = 2000 + (r[0] & 0x7F) as i32;
    let (month, day) = ((r[1] >> 8) & 0x0F, r[1] & 0x1F);
    let (hour, minute) = ((r[2] >> 8) & 0x1F, r[2] & 0x3F);
    let millis = r[3] as u32;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)?.and_hms_milli_opt(
        hour as u32,
        minute as u32,
        millis / 1000,
        millis % 1000,
    )
}

/// Encodes a number as `kind` (integers after dividing by `scale` and
/// rounding; NaN as the type's "not available" pattern).
pub fn encode_number(kind: PointType, value: f64, order: WordOrder, scale: f64) -> Vec<u16> {
    let raw = value / scale;
    let words = match kind {
        PointType::U16 => vec![saturate(raw, 0.0, u16::MAX as f64, 0xFFFF) as u16],
        PointType::I16 => {
            vec![saturate(raw, i16::MIN as f64 + 1.0, i16::MAX as f64, 0x8000) as u16]
        }
        PointType::U32 => split(saturate(raw, 0.0, u32::MAX as f64, 0xFFFF_FFFF), 2),
        PointType::I32 => split(
            saturate(raw, i32::MIN as f64 + 1.0, i32::MAX as f64, 0x8000_0000),
            2,
        ),
        PointType::U64 => split(saturate(raw, 0.0, u64::MAX as f64, u64::MAX), 4),
        // i64::MAX as f64 is 2^63, one past the type, whose pattern reads as
        // the most negative number: stop at the largest f64 below it.
        PointType::I64 => split(
            saturate(
                raw,
                (i64::MIN as f64).next_up(),
                (i64::MAX as f64).next_down(),
                1 << 63,
            ),
            4,
        ),
        PointType::F32 => split((raw as f32).to_bits() as u64, 2),
        PointType::PowerFactor4q => split((value as f32).to_bits() as u64, 2),
        PointType::Utf8(n) => vec![0x8000; n as usize],
        PointType::DateTime | PointType::Version => vec![0x8000; kind.registers() as usize],
    };
    ordered(words, order)
}

/// The signed integer pattern of `raw` rounded, or `missing` for NaN; the
/// range ends for values beyond it.
fn saturate(raw: f64, low: f64, high: f64, missing: u64) -> u64 {
    if raw.is_nan() {
        return missing;
    }
    let v = raw.round().clamp(low, high);
    if v < 0.0 { v as i64 as u64 } else { v as u64 }
}

/// Text as `registers` registers, NUL-padded, cut at a character boundary.
pub fn encode_text(text: &str, registers: u16) -> Vec<u16> {
    let capacity = registers as usize * 2;
    let mut end = text.len().min(capacity);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut bytes = text.as_bytes()[..end].to_vec();
    bytes.resize(capacity, 0);
    bytes
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect()
}

pub fn encode_date_time(t: NaiveDateTime) -> Vec<u16> {
    vec![
        (t.year() - 2000).clamp(0, 127) as u16,
        ((t.month() as u16) << 8) | t.day() as u16,
        ((t.hour() as u16) << 8) | t.minute() as u16,
        (t.second() * 1000 + t.nanosecond() / 1_000_000).min(59_999) as u16,
    ]
}

/// A signed power factor (negative when power flows back) and the sign of
/// Q, coded over −2..2 as PowerLogic meters do.
pub fn encode_power_factor(pf: f64, q: f64, order: WordOrder) -> Vec<u16> {
    let coded = if pf.is_nan() {
        f64::NAN
    } else if q < 0.0 && pf > 0.0 {
        2.0 - pf
    } else if q < 0.0 && pf < 0.0 {
        -2.0 - pf
    } else {
        pf
    };
    encode_number(PointType::PowerFactor4q, coded, order, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_saturate_at_their_ends_without_wrapping() {
        let words = |kind, value| encode_number(kind, value, WordOrder::HighFirst, 1.0);
        let back = |kind, value| decode(kind, &words(kind, value), WordOrder::HighFirst, 1.0);
        let top = (i64::MAX as f64).next_down() as i64;
        assert_eq!(top, i64::MAX - 1023);
        assert_eq!(back(PointType::I64, 1e30), PointValue::Integer(top.into()));
        assert_eq!(
            back(PointType::I64, 9.3e18),
            PointValue::Integer(top.into())
        );
        assert_eq!(
            back(PointType::I64, -1e30),
            PointValue::Integer((-top).into())
        );
        assert_eq!(
            back(PointType::U32, 1e12),
            PointValue::Number(u32::MAX as f64)
        );
        assert_eq!(back(PointType::I16, -1e9), PointValue::Number(-32767.0));
    }

    #[test]
    fn numbers_round_trip_in_both_word_orders() {
        for order in [WordOrder::HighFirst, WordOrder::LowFirst] {
            for (kind, value) in [
                (PointType::U16, 65_535.0),
                (PointType::I16, -1234.0),
                (PointType::U32, 4_000_000_000.0),
                (PointType::I32, -2_000_000_000.0),
                (PointType::F32, 230.25),
            ] {
                let regs = encode_number(kind, value, order, 1.0);
                assert_eq!(regs.len(), kind.registers() as usize);
                assert_eq!(
                    decode(kind, &regs, order, 1.0),
                    PointValue::Number(value),
                    "{kind:?} {order:?}"
                );
            }
            for (kind, value) in [
                (PointType::I64, -123_456_789_012i128),
                (PointType::U64, 9_007_199_254_740_992),
            ] {
                let regs = encode_number(kind, value as f64, order, 1.0);
                assert_eq!(decode(kind, &regs, order, 1.0), PointValue::Integer(value));
            }
        }
        // 230.25 as f32 is 0x43664000: high word first on the wire.
        assert_eq!(
            encode_number(PointType::F32, 230.25, WordOrder::HighFirst, 1.0),
            [0x4366, 0x4000]
        );
        assert_eq!(
            encode_number(PointType::F32, f64::NAN, WordOrder::HighFirst, 1.0)[0] & 0x7FC0,
            0x7FC0
        );
        assert_eq!(
            decode(PointType::F32, &[0x7FC0, 0], WordOrder::HighFirst, 1.0),
            PointValue::Missing
        );
    }

    #[test]
    fn sixty_four_bit_integers_decode_exactly() {
        let regs = [0x1000, 0, 0, 0];
        let value = decode(PointType::U64, &regs, WordOrder::HighFirst, 1.0);
        assert_eq!(value, PointValue::Integer(0x1000_0000_0000_0000));
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            "1152921504606846976"
        );
        let top = decode(PointType::U64, &[0xFFFF; 4], WordOrder::HighFirst, 1.0);
        assert_eq!(serde_json::to_string(&top).unwrap(), u64::MAX.to_string());
        let low = decode(
            PointType::I64,
            &[0x8000, 0, 0, 1],
            WordOrder::HighFirst,
            1.0,
        );
        assert_eq!(low, PointValue::Integer(i64::MIN as i128 + 1));
        assert_eq!(serde_json::to_string(&low).unwrap(), "-9223372036854775807");
    }

    #[test]
    fn floats_keep_their_shortest_form_and_no_negative_zero() {
        let regs = encode_number(PointType::F32, 229.99, WordOrder::HighFirst, 1.0);
        let value = decode(PointType::F32, &regs, WordOrder::HighFirst, 1.0);
        assert_eq!(value, PointValue::Number(229.99));
        assert_eq!(serde_json::to_string(&value).unwrap(), "229.99");
        // Whole values print as integers however large, without a `.0`.
        for (value, json) in [
            (9.223372e15f32, "9223372000000000"),
            (-9.223372e15, "-9223372000000000"),
            (1e19, "10000000000000000000"),
            (3.4028235e38, "3.4028235e+38"),
        ] {
            let bits = value.to_bits();
            let words = [(bits >> 16) as u16, bits as u16];
            let decoded = decode(PointType::F32, &words, WordOrder::HighFirst, 1.0);
            assert_eq!(serde_json::to_string(&decoded).unwrap(), json, "{value}");
        }
        let minus_zero = decode(PointType::F32, &[0x8000, 0], WordOrder::HighFirst, 1.0);
        assert!(minus_zero.number().unwrap().is_sign_positive());
        let pf = encode_power_factor(0.9, -1.0, WordOrder::HighFirst);
        assert_eq!(
            decode(PointType::PowerFactor4q, &pf, WordOrder::HighFirst, 1.0),
            PointValue::Number(0.9)
        );
        assert_eq!(PointType::PowerFactor4q.name(), "pf4q");
        assert_eq!(
            PointType::parse("power_factor4q"),
            Ok(PointType::PowerFactor4q)
        );
    }

    #[test]
    fn scale_applies_to_integers() {
        let regs = encode_number(PointType::I16, 49.87, WordOrder::HighFirst, 0.01);
        assert_eq!(regs, [4987]);
        assert_eq!(
            decode(PointType::I16, &regs, WordOrder::HighFirst, 0.01),
            PointValue::Number(49.87)
        );
    }

    #[test]
    fn four_quadrant_power_factor() {
        let cases = [
            (0.9, 1.0, 0.9),
            (0.9, -1.0, 1.1),
            (-0.8, -1.0, -1.2),
            (-0.8, 1.0, -0.8),
        ];
        for (pf, q, coded) in cases {
            let regs = encode_power_factor(pf, q, WordOrder::HighFirst);
            let raw = f32::from_bits(((regs[0] as u32) << 16) | regs[1] as u32) as f64;
            assert!((raw - coded).abs() < 1e-6, "{pf} {q}: {raw}");
            let back = decode(PointType::PowerFactor4q, &regs, WordOrder::HighFirst, 1.0)
                .number()
                .unwrap();
            assert!((back - pf).abs() < 1e-6);
        }
    }

    #[test]
    fn text_date_time_and_version() {
        let regs = encode_text("meter-core ☃", 20);
        assert_eq!(regs.len(), 20);
        assert_eq!(
            decode(PointType::Utf8(20), &regs, WordOrder::HighFirst, 1.0),
            PointValue::Text("meter-core ☃".into())
        );
        // Cut at a character boundary, never inside one.
        let regs = encode_text("ab☃", 2);
        assert_eq!(
            decode(PointType::Utf8(2), &regs, WordOrder::HighFirst, 1.0),
            PointValue::Text("ab".into())
        );
        let t = NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_milli_opt(13, 5, 42, 250)
            .unwrap();
        let regs = encode_date_time(t);
        assert_eq!(regs, [26, (11 << 8) | 26, (13 << 8) | 5, 42_250]);
        assert_eq!(
            decode(PointType::DateTime, &regs, WordOrder::HighFirst, 1.0),
            PointValue::Text("2026-11-26T13:05:42.250".into())
        );
        assert_eq!(
            decode(PointType::Version, &[3, 1, 4], WordOrder::HighFirst, 1.0),
            PointValue::Text("3.1.4".into())
        );
    }

    #[test]
    fn types_parse_from_the_command_line() {
        assert_eq!(PointType::parse("F32"), Ok(PointType::F32));
        assert_eq!(PointType::parse("utf8(20)"), Ok(PointType::Utf8(20)));
        assert_eq!(PointType::parse("utf8:4"), Ok(PointType::Utf8(4)));
        assert!(PointType::parse("utf8(0)").is_err());
        assert!(PointType::parse("double").unwrap_err().contains("u16, i16"));
        assert_eq!(PointType::Utf8(20).name(), "utf8(20)");
        assert_eq!(PointType::F32.name(), "f32");
    }
}
