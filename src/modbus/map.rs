//! A device profile turned into a register map: named, typed points at
//! register numbers, and the reads that fetch them.
//!
//! Profiles are RON files (`src/profiles/*.ron` are built in). Register
//! numbers are 1-based, as vendors print them; the PDU address is one less.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::value::{PointType, PointValue, WordOrder, decode};
use crate::ron_file::{self, FileError, line_column};

/// Most registers one read may ask for.
pub const MAX_READ: u16 = 125;

const BUILT_IN: [(&str, &str); 2] = [
    ("powerlogic", include_str!("../profiles/powerlogic.ron")),
    ("meter-core", include_str!("../profiles/meter-core.ron")),
];

/// Names of the built-in profiles.
pub fn built_in_names() -> Vec<&'static str> {
    BUILT_IN.iter().map(|(name, _)| *name).collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Profile", deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    description: String,
    /// A built-in profile whose points come first.
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    word_order: WordOrder,
    /// Reserved registers a read may span to join two points.
    #[serde(default = "default_gap")]
    max_gap: u16,
    points: Vec<PointFile>,
}

fn default_gap() -> u16 {
    32
}

fn one() -> f64 {
    1.0
}

fn single() -> u16 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Point", deny_unknown_fields)]
struct PointFile {
    name: String,
    register: u32,
    #[serde(rename = "type")]
    kind: PointType,
    #[serde(default)]
    unit: String,
    #[serde(default = "one")]
    scale: f64,
    /// Values in a row, for arrays such as harmonic spectra.
    #[serde(default = "single")]
    count: u16,
    #[serde(default)]
    word_order: Option<WordOrder>,
    #[serde(default)]
    description: String,
}

/// One named quantity in the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: String,
    /// Register number as printed (1-based).
    pub register: u16,
    pub kind: PointType,
    pub unit: String,
    pub scale: f64,
    pub count: u16,
    pub word_order: WordOrder,
    pub description: String,
    /// Where the profile defines it, for errors found after parsing.
    pub at: Spot,
}

/// A place in a profile: the file (or built-in profile) and the line and
/// column of a point's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spot {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Spot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Point {
    /// Registers the point takes, all values together (wide enough that
    /// no type and count can overflow it).
    pub fn len(&self) -> u32 {
        self.kind.registers() as u32 * self.count as u32
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past its last register number.
    pub fn end(&self) -> u32 {
        self.register as u32 + self.len()
    }

    /// Decodes the point from its registers: one value, or a list for an array.
    pub fn decode(&self, registers: &[u16]) -> Decoded {
        let width = (self.kind.registers() as usize).max(1);
        let values: Vec<PointValue> = registers
            .chunks(width)
            .take(self.count as usize)
            .map(|r| decode(self.kind, r, self.word_order, self.scale))
            .collect();
        if self.count == 1 {
            Decoded::One(values.into_iter().next().unwrap_or(PointValue::Missing))
        } else {
            Decoded::Many(values)
        }
    }
}

/// A decoded point.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Decoded {
    One(PointValue),
    Many(Vec<PointValue>),
}

/// A run of registers fetched in one request (register numbers, 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub register: u16,
    pub count: u16,
}

/// A profile ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterMap {
    /// Where it was loaded from: a path, or `built-in profile NAME`.
    pub file: String,
    pub name: String,
    pub description: String,
    /// Sorted by register.
    pub points: Vec<Point>,
    /// Runs of points joined across reserved gaps of at most `max_gap`
    /// registers: what a server answers, and what reads stay inside.
    pub ranges: Vec<Read>,
}

/// A profile that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("no profile '{0}': give a built-in name (powerlogic, meter-core) or a .ron file")]
    Unknown(String),
}

impl RegisterMap {
    /// A built-in profile by name, or a RON file by path.
    pub fn load(name_or_path: &str) -> Result<RegisterMap, ProfileError> {
        if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return RegisterMap::parse(&format!("built-in profile {name}"), text);
        }
        let path = PathBuf::from(name_or_path);
        if path.extension().is_none_or(|e| e != "ron") && !path.exists() {
            return Err(ProfileError::Unknown(name_or_path.to_string()));
        }
        RegisterMap::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<RegisterMap, ProfileError> {
        let text = ron_file::read(path)?;
        RegisterMap::parse(&path.display().to_string(), &text)
    }

    /// Parses and checks a profile; `file` labels errors.
    pub fn parse(file: &str, text: &str) -> Result<RegisterMap, ProfileError> {
        let profile: ProfileFile =
            ron::from_str(text).map_err(|e| FileError::from_ron(file, text, &e))?;
        let mut points = match &profile.extends {
            Some(base) => {
                let (_, base_text) = BUILT_IN.iter().find(|(n, _)| n == base).ok_or_else(|| {
                    at(
                        file,
                        text,
                        "extends",
                        format!("extends: no built-in profile '{base}'"),
                    )
                })?;
                RegisterMap::parse(&format!("built-in profile {base}"), base_text)?.points
            }
            None => Vec::new(),
        };
        let mut own = Vec::with_capacity(profile.points.len());
        for p in &profile.points {
            let problem = |message: String| at(file, text, &format!("\"{}\"", p.name), message);
            let register = u16::try_from(p.register)
                .ok()
                .filter(|r| *r >= 1)
                .ok_or_else(|| {
                    problem(format!(
                        "point '{}': register {} is outside 1..=65535",
                        p.name, p.register
                    ))
                })?;
            if p.count == 0 || p.kind.registers() == 0 {
                return Err(problem(format!("point '{}': takes no registers", p.name)));
            }
            let Some(length) = p.kind.registers().checked_mul(p.count) else {
                return Err(problem(format!(
                    "point '{}': {} values of {} take {} registers, more than a register map holds",
                    p.name,
                    p.count,
                    p.kind.name(),
                    p.kind.registers() as u32 * p.count as u32
                )));
            };
            if !(p.scale.is_finite() && p.scale != 0.0) {
                return Err(problem(format!(
                    "point '{}': scale must be a number other than 0",
                    p.name
                )));
            }
            let point = Point {
                name: p.name.clone(),
                register,
                kind: p.kind,
                unit: p.unit.clone(),
                scale: p.scale,
                count: p.count,
                word_order: p.word_order.unwrap_or(profile.word_order),
                description: p.description.clone(),
                at: spot_of(file, text, &p.name),
            };
            if register as u32 + length as u32 > 65536 {
                return Err(problem(format!(
                    "point '{}': {length} registers from {register} run past register 65535",
                    p.name
                )));
            }
            own.push(point);
        }
        // A point named like one of the base profile's replaces it.
        points.retain(|base: &Point| own.iter().all(|p| p.name != base.name));
        points.extend(own);
        points.sort_by_key(|p| p.register);
        let mut names = HashMap::new();
        for (k, p) in points.iter().enumerate() {
            if names.insert(p.name.as_str(), k).is_some() {
                return Err(at(
                    file,
                    text,
                    &format!("\"{}\"", p.name),
                    format!("point '{}' is defined twice", p.name),
                ));
            }
            if let Some(next) = points.get(k + 1)
                && p.end() > next.register as u32
            {
                return Err(at(
                    file,
                    text,
                    &format!("\"{}\"", next.name),
                    format!(
                        "point '{}' at register {} overlaps '{}' ({} to {})",
                        next.name,
                        next.register,
                        p.name,
                        p.register,
                        p.end() - 1
                    ),
                ));
            }
        }
        let ranges = join(&points, profile.max_gap);
        Ok(RegisterMap {
            file: file.to_string(),
            name: profile.name,
            description: profile.description,
            points,
            ranges,
        })
    }

    pub fn point(&self, name: &str) -> Option<&Point> {
        self.points.iter().find(|p| p.name == name)
    }

    /// The reads that fetch every point, each inside one range and at most
    /// 125 registers.
    pub fn reads(&self) -> Vec<Read> {
        let mut reads = Vec::new();
        for range in &self.ranges {
            let end = range.register as u32 + range.count as u32;
            let mut start = range.register as u32;
            while start < end {
                let count = (end - start).min(MAX_READ as u32);
                reads.push(Read {
                    register: start as u16,
                    count: count as u16,
                });
                start += count;
            }
        }
        reads
    }

    /// The range holding register `register`, if any.
    pub fn range_of(&self, register: u16) -> Option<Read> {
        self.ranges.iter().copied().find(|r| {
            register >= r.register && (register as u32) < r.register as u32 + r.count as u32
        })
    }
}

/// Joins points into runs while the reserved gap between them is at most `gap`.
fn join(points: &[Point], gap: u16) -> Vec<Read> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for p in points {
        match runs.last_mut() {
            Some((_, end)) if p.register as u32 <= *end + gap as u32 => *end = (*end).max(p.end()),
            _ => runs.push((p.register as u32, p.end())),
        }
    }
    runs.into_iter()
        .map(|(start, end)| Read {
            register: start as u16,
            count: (end - start).min(u16::MAX as u32) as u16,
        })
        .collect()
}

/// Where the point `name` is defined: its `name: "..."` outside a comment,
/// or failing that the first time the quoted name appears.
fn spot_of(file: &str, text: &str, name: &str) -> Spot {
    let quoted = format!("\"{name}\"");
    let defined = text.match_indices(&quoted).map(|(i, _)| i).find(|&i| {
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        text[..i].trim_end().ends_with("name:")
            && !text[line_start..i].trim_start().starts_with("//")
    });
    let (line, column) = line_column(text, defined.or_else(|| text.find(&quoted)).unwrap_or(0));
    Spot {
        file: file.to_string(),
        line,
        column,
    }
}

fn at(file: &str, text: &str, needle: &str, message: String) -> ProfileError {
    FileError::at_first(file, text, needle, &message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powerlogic_has_the_documented_points_and_few_reads() {
        let map = RegisterMap::load("powerlogic").unwrap();
        for name in [
            "current_a",
            "current_b",
            "current_c",
            "current_n",
            "current_avg",
            "voltage_ab",
            "voltage_bc",
            "voltage_ca",
            "voltage_ll_avg",
            "voltage_an",
            "voltage_bn",
            "voltage_cn",
            "voltage_ln_avg",
            "active_power_a",
            "active_power_b",
            "active_power_c",
            "active_power_total",
            "reactive_power_a",
            "reactive_power_b",
            "reactive_power_c",
            "reactive_power_total",
            "apparent_power_a",
            "apparent_power_b",
            "apparent_power_c",
            "apparent_power_total",
            "power_factor_a",
            "power_factor_b",
            "power_factor_c",
            "power_factor_total",
            "frequency",
            "energy_delivered_wh",
            "energy_received_wh",
            "demand_kw_present",
            "demand_kw_peak",
            "thd_current_a",
            "thd_current_b",
            "thd_current_c",
            "thd_current_n",
            "thd_voltage_an",
            "thd_voltage_bn",
            "thd_voltage_cn",
            "thd_voltage_ab",
            "thd_voltage_bc",
            "thd_voltage_ca",
            "meter_name",
            "meter_model",
            "serial_number",
            "firmware",
            "meter_time",
        ] {
            assert!(map.point(name).is_some(), "missing {name}");
        }
        assert_eq!(map.point("voltage_an").unwrap().register, 3028);
        let reads = map.reads();
        assert!(reads.iter().all(|r| r.count <= MAX_READ));
        assert_eq!(reads.len(), 9, "{reads:?}");
        assert_eq!(
            reads[0],
            Read {
                register: 30,
                count: 60
            }
        );
        assert!(map.range_of(29).is_none() && map.range_of(30).is_some());
        assert_eq!(
            map.range_of(3035),
            Some(Read {
                register: 3000,
                count: 112
            }),
            "reserved inside"
        );
    }

    #[test]
    fn meter_core_extends_powerlogic_and_splits_long_arrays() {
        let map = RegisterMap::load("meter-core").unwrap();
        assert!(map.point("current_a").is_some() && map.point("scope_current_n").is_some());
        let reads = map.reads();
        assert!(reads.iter().all(|r| r.count <= MAX_READ));
        // Every register of every point is read.
        for p in &map.points {
            for register in p.register as u32..p.end() {
                assert!(
                    reads.iter().any(|r| register >= r.register as u32
                        && register < r.register as u32 + r.count as u32),
                    "{} register {register}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn bad_profiles_say_where() {
        let err = RegisterMap::parse(
            "x.ron",
            "Profile(name: \"x\",\n points: [ Point(name: \"a\", register: 1, type: f64) ])",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.ron:2:"), "{text}");
        let err = RegisterMap::parse(
            "y.ron",
            "Profile(name: \"y\", points: [\n  Point(name: \"a\", register: 10, type: f32),\n  Point(name: \"b\", register: 11, type: u16),\n])",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("y.ron:3:") && err.contains("overlaps 'a'"),
            "{err}"
        );
        let err = RegisterMap::parse(
            "z.ron",
            "Profile(name: \"z\", points: [Point(name: \"a\", register: 0, type: u16)])",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("register 0 is outside 1..=65535"), "{err}");
        assert!(matches!(
            RegisterMap::load("nonesuch"),
            Err(ProfileError::Unknown(_))
        ));
        // 256 values of 256 registers: 65536, which a u16 count wraps to 0.
        let err = RegisterMap::parse(
            "w.ron",
            "Profile(name: \"w\", points: [\n  Point(name: \"label\", register: 1, type: utf8(256), count: 256),\n])",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("w.ron:2:")
                && err.contains("point 'label': 256 values of utf8(256) take 65536 registers"),
            "{err}"
        );
        let err = RegisterMap::parse(
            "v.ron",
            "Profile(name: \"v\", points: [Point(name: \"tail\", register: 65000, type: u64, count: 200)])",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("point 'tail': 800 registers from 65000 run past register 65535"),
            "{err}"
        );
    }

    #[test]
    fn arrays_decode_as_lists() {
        let p = Point {
            name: "h".into(),
            register: 1,
            kind: PointType::U16,
            unit: String::new(),
            scale: 1.0,
            count: 3,
            word_order: WordOrder::HighFirst,
            description: String::new(),
            at: Spot::default(),
        };
        assert_eq!(
            p.decode(&[1, 2, 3]),
            Decoded::Many(vec![
                PointValue::Number(1.0),
                PointValue::Number(2.0),
                PointValue::Number(3.0)
            ])
        );
    }
}
