//! Which capture channel plays which part: the three phase voltages, the
//! three phase currents and the neutral current.

use std::fmt;

use chrono::NaiveDateTime;

use crate::comtrade::{AnalogChannel, Capture, Scale};

/// A channel's part in a three-phase, four-wire measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    VoltageA,
    VoltageB,
    VoltageC,
    CurrentA,
    CurrentB,
    CurrentC,
    CurrentN,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::VoltageA,
        Role::VoltageB,
        Role::VoltageC,
        Role::CurrentA,
        Role::CurrentB,
        Role::CurrentC,
        Role::CurrentN,
    ];

    /// The short name used on the command line and in output: VA .. IN.
    pub fn label(self) -> &'static str {
        match self {
            Role::VoltageA => "VA",
            Role::VoltageB => "VB",
            Role::VoltageC => "VC",
            Role::CurrentA => "IA",
            Role::CurrentB => "IB",
            Role::CurrentC => "IC",
            Role::CurrentN => "IN",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn voltage(phase: usize) -> Role {
        Role::ALL[phase]
    }

    pub fn current(phase: usize) -> Role {
        Role::ALL[3 + phase]
    }

    fn is_voltage(self) -> bool {
        self.index() < 3
    }

    fn from_label(text: &str) -> Option<Role> {
        let upper = text.trim().to_ascii_uppercase();
        Role::ALL.into_iter().find(|r| r.label() == upper)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Capture channel (0-based) for each role, where one was found or given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelMap {
    pub channels: [Option<usize>; 7],
}

/// Why a capture cannot be measured, or a channel map cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("channel map: {0}")]
    BadMap(String),
    #[error(
        "no phase voltage channel found among: {found}\n  \
         name them VA/VB/VC (or UA, U1, V1, VAN...), or say which is which with \
         a channel map such as \"VA=1,VB=2,VC=3,IA=4,IB=5,IC=6\""
    )]
    NoVoltage { found: String },
}

impl ChannelMap {
    pub fn get(&self, role: Role) -> Option<usize> {
        self.channels[role.index()]
    }

    /// Roles found from channel names, phase fields and units, then
    /// `overrides` (a `--map` text) applied on top.
    pub fn for_capture(
        capture: &Capture,
        overrides: Option<&str>,
    ) -> Result<ChannelMap, RoleError> {
        let analog = &capture.config.analog;
        let given = match overrides {
            Some(text) => parse_map(text, analog)?,
            None => [const { None }; 7],
        };
        let mut map = ChannelMap::default();
        for role in Role::ALL {
            map.channels[role.index()] = match given[role.index()] {
                Some(choice) => choice,
                None => detect(role, analog, &given),
            };
        }
        if (0..3).all(|p| map.get(Role::voltage(p)).is_none()) {
            const LISTED: usize = 20;
            let shown = |t: &str| crate::comtrade::shown_name(t.trim()).into_owned();
            let mut found = analog
                .iter()
                .take(LISTED)
                .map(|c| format!("{} '{}' ({})", c.index, shown(&c.name), shown(&c.unit)))
                .collect::<Vec<_>>()
                .join(", ");
            if analog.len() > LISTED {
                found.push_str(&format!(" and {} more", analog.len() - LISTED));
            }
            return Err(RoleError::NoVoltage {
                found: if found.is_empty() {
                    "no analog channels".into()
                } else {
                    found
                },
            });
        }
        Ok(map)
    }

    /// One line per role, e.g. `VA = 5 'J2 -VA'`, for people checking the mapping.
    pub fn describe(&self, analog: &[AnalogChannel]) -> Vec<(Role, String)> {
        Role::ALL
            .into_iter()
            .map(|role| {
                let text = match self.get(role) {
                    Some(k) => format!(
                        "{} '{}'",
                        analog[k].index,
                        crate::comtrade::shown_name(analog[k].name.trim())
                    ),
                    None => "-".into(),
                };
                (role, text)
            })
            .collect()
    }
}

/// `VA=3,VB=4,IN=-`: each role gets a channel number (as in the cfg), a
/// channel name, or `-` for none.
fn parse_map(
    text: &str,
    analog: &[AnalogChannel],
) -> Result<[Option<Option<usize>>; 7], RoleError> {
    let mut given = [const { None }; 7];
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            RoleError::BadMap(format!("'{item}': expected ROLE=CHANNEL, e.g. VA=3"))
        })?;
        let role = Role::from_label(key).ok_or_else(|| {
            RoleError::BadMap(format!(
                "'{}' is not a role; roles are VA, VB, VC, IA, IB, IC, IN",
                key.trim()
            ))
        })?;
        let value = value.trim();
        let channel = if value == "-" || value.eq_ignore_ascii_case("none") {
            None
        } else if let Ok(number) = value.parse::<u32>() {
            let found = analog.iter().position(|c| c.index == number).or_else(|| {
                (number >= 1 && (number as usize) <= analog.len()).then(|| number as usize - 1)
            });
            Some(found.ok_or_else(|| {
                RoleError::BadMap(format!(
                    "{role}={value}: the capture has analog channels 1 to {}",
                    analog.len()
                ))
            })?)
        } else {
            Some(
                analog
                    .iter()
                    .position(|c| c.name.trim().eq_ignore_ascii_case(value))
                    .ok_or_else(|| {
                        RoleError::BadMap(format!(
                            "{role}={value}: no analog channel has that name"
                        ))
                    })?,
            )
        };
        given[role.index()] = Some(channel);
    }
    Ok(given)
}

/// The best channel for `role` not already given to another role.
fn detect(
    role: Role,
    analog: &[AnalogChannel],
    given: &[Option<Option<usize>>; 7],
) -> Option<usize> {
    let taken = |k: usize| given.contains(&Some(Some(k)));
    analog
        .iter()
        .enumerate()
        .filter(|(k, _)| !taken(*k))
        .filter_map(|(k, channel)| score(role, channel).map(|s| (s, k)))
        // Highest score; among equals the first channel.
        .min_by_key(|&(s, k)| (std::cmp::Reverse(s), k))
        .map(|(_, k)| k)
}

/// How well a channel fits a role, or `None` when it does not fit.
fn score(role: Role, channel: &AnalogChannel) -> Option<u8> {
    let unit = channel.unit.trim().to_ascii_uppercase();
    let unit_fits = if role.is_voltage() {
        unit.is_empty() || unit.ends_with('V') || unit.contains("VOLT")
    } else {
        unit.is_empty() || unit.ends_with('A') || unit.contains("AMP")
    };
    if !unit_fits {
        return None;
    }
    let tokens: Vec<String> = channel
        .name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    // Magnitudes, angles and other derived quantities are not waveforms.
    const DERIVED: [&str; 8] = ["MAG", "ANGLE", "ANG", "RMS", "DEG", "FREQ", "PHASOR", "THD"];
    if tokens.iter().any(|t| DERIVED.contains(&t.as_str())) {
        return None;
    }
    let matched = tokens.iter().any(|t| token_role(t) == Some(role));
    if !matched {
        return None;
    }
    let phase_field = channel.phase.trim().to_ascii_uppercase();
    let phase_fits = match role.index() {
        6 => phase_field == "N",
        p => phase_of(&phase_field) == Some(p % 3),
    };
    Some(if phase_fits { 2 } else { 1 })
}

/// The role a name token spells: V or U, optional L, a phase (A B C, 1 2 3 or
/// R S T), an optional N or G, an optional circuit number; I likewise, with
/// N or 4 for the neutral.
fn token_role(token: &str) -> Option<Role> {
    let mut chars = token.chars().peekable();
    let kind = chars.next()?;
    if chars.peek() == Some(&'L') {
        chars.next();
    }
    let phase_char = chars.next()?;
    let rest: String = chars.collect();
    let rest = rest.trim_start_matches(['N', 'G']);
    if !rest.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match kind {
        'V' | 'U' => phase_of(&phase_char.to_string()).map(Role::voltage),
        'I' => match phase_char {
            'N' | '4' => Some(Role::CurrentN),
            c => phase_of(&c.to_string()).map(Role::current),
        },
        _ => None,
    }
}

fn phase_of(text: &str) -> Option<usize> {
    match text.trim_start_matches('L') {
        "A" | "1" | "R" => Some(0),
        "B" | "2" | "S" => Some(1),
        "C" | "3" | "T" => Some(2),
        _ => None,
    }
}

/// The samples meter-core measures: times and one column per role, in volts
/// and amperes, NaN where a sample is missing.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Seconds from the first sample.
    pub times: Vec<f64>,
    pub columns: [Option<Vec<f64>>; 7],
    /// Wall-clock time of the first sample.
    pub start: NaiveDateTime,
    /// The capture's declared line frequency, when it gave one.
    pub line_frequency: Option<f64>,
}

impl Signals {
    /// Takes the mapped channels out of `capture`, scaled in place to
    /// engineering values and from kV, mA and the like to V and A. Samples
    /// without a time get one a sample period on.
    pub fn from_capture(mut capture: Capture, map: &ChannelMap, scale: Scale) -> Signals {
        let times = fill_missing_times(capture.times());
        let mut columns: [Option<Vec<f64>>; 7] = Default::default();
        for role in Role::ALL {
            let Some(k) = map.get(role) else { continue };
            // A channel given two roles is copied for the second.
            let earlier = Role::ALL[..role.index()]
                .iter()
                .find(|r| map.get(**r) == Some(k));
            if let Some(earlier) = earlier {
                columns[role.index()] = columns[earlier.index()].clone();
                continue;
            }
            let channel = &capture.config.analog[k];
            let factor = capture.scale_factor(k, scale) * unit_factor(&channel.unit);
            let (a, b) = (channel.a * factor, channel.b * factor);
            let mut values = capture.samples.take_raw(k);
            // A value that overflows the scaling (a multiplier of 1e308) is
            // no measurement: missing, like a recorder's missing-value code.
            values.iter_mut().for_each(|v| {
                let scaled = a * *v + b;
                *v = if scaled.is_finite() { scaled } else { f64::NAN };
            });
            columns[role.index()] = Some(values);
        }
        let lf = capture.config.line_frequency;
        Signals {
            times,
            columns,
            start: capture.config.start.datetime,
            line_frequency: (lf.is_finite() && lf > 0.0).then_some(lf),
        }
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn column(&self, role: Role) -> Option<&[f64]> {
        self.columns[role.index()].as_deref()
    }

    /// Number of role columns present.
    pub fn channel_count(&self) -> usize {
        self.columns.iter().filter(|c| c.is_some()).count()
    }
}

/// Multiplier from a channel's unit to the base unit (V or A).
fn unit_factor(unit: &str) -> f64 {
    let unit = unit.trim();
    match unit.chars().next() {
        Some('k') | Some('K') if unit.len() > 1 => 1e3,
        Some('M') if unit.len() > 1 => 1e6,
        Some('m') if unit.len() > 1 => 1e-3,
        _ => 1.0,
    }
}

/// Replaces missing (NaN) times by stepping on from the sample before at
/// the last known spacing, so every sample has a place on the time axis.
fn fill_missing_times(mut times: Vec<f64>) -> Vec<f64> {
    let mut step = 0.0;
    for i in 0..times.len() {
        if !times[i].is_finite() {
            times[i] = if i == 0 { 0.0 } else { times[i - 1] + step };
        } else if i > 0 && times[i] > times[i - 1] {
            step = times[i] - times[i - 1];
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(index: u32, name: &str, phase: &str, unit: &str) -> AnalogChannel {
        AnalogChannel {
            index,
            name: name.into(),
            phase: phase.into(),
            circuit: String::new(),
            unit: unit.into(),
            a: 1.0,
            b: 0.0,
            skew: 0.0,
            min: -1.0,
            max: 1.0,
            primary: None,
            secondary: None,
            scaling: None,
        }
    }

    #[test]
    fn names_from_many_vendors_find_their_roles() {
        let cases = [
            ("VA", "", "V", Some(Role::VoltageA)),
            ("UB", "", "V", Some(Role::VoltageB)),
            ("U3", "", "V", Some(Role::VoltageC)),
            ("VAN", "", "kV", Some(Role::VoltageA)),
            ("UL2", "", "V", Some(Role::VoltageB)),
            ("Ua1", "A", "V", Some(Role::VoltageA)),
            ("F5-VA", "A", "V", Some(Role::VoltageA)),
            ("J1 -IC", "C", "A", Some(Role::CurrentC)),
            ("I1", "", "A", Some(Role::CurrentA)),
            ("IN", "N", "A", Some(Role::CurrentN)),
            ("I4", "", "A", Some(Role::CurrentN)),
            ("3I0", "N", "A", None),
            ("VN", "N", "V", None),
            ("SRC 1 Vag Mag", "_", "kV", None),
            ("J1 Ia Angle", "_", "deg", None),
            ("IA", "", "V", None),
            ("U1", "", "volt", Some(Role::VoltageA)),
            ("I2", "", "ampere", Some(Role::CurrentB)),
        ];
        for (name, phase, unit, expected) in cases {
            let c = channel(1, name, phase, unit);
            let found = Role::ALL.into_iter().find(|r| score(*r, &c).is_some());
            assert_eq!(found, expected, "{name} ({unit})");
        }
    }

    #[test]
    fn a_waveform_with_its_phase_field_wins_over_a_derived_twin() {
        let analog = vec![
            channel(1, "J2 Van", "_", "V"),
            channel(2, "J2 -VA", "A", "V"),
        ];
        let given = [const { None }; 7];
        assert_eq!(detect(Role::VoltageA, &analog, &given), Some(1));
    }

    #[test]
    fn map_text_names_numbers_and_none() {
        let analog = vec![
            channel(1, "X", "", "V"),
            channel(2, "Y", "", "V"),
            channel(3, "Z", "", "A"),
        ];
        let given = parse_map("VA=2, vb=x, IN=-", &analog).unwrap();
        assert_eq!(given[Role::VoltageA.index()], Some(Some(1)));
        assert_eq!(given[Role::VoltageB.index()], Some(Some(0)));
        assert_eq!(given[Role::CurrentN.index()], Some(None));
        let err = parse_map("VA=9", &analog).unwrap_err().to_string();
        assert!(err.contains("1 to 3"), "{err}");
        let err = parse_map("VX=1", &analog).unwrap_err().to_string();
        assert!(err.contains("not a role"), "{err}");
        let err = parse_map("VA", &analog).unwrap_err().to_string();
        assert!(err.contains("ROLE=CHANNEL"), "{err}");
    }

    #[test]
    fn missing_times_step_on() {
        let t = fill_missing_times(vec![0.0, 0.25, f64::NAN, 0.75, f64::NAN]);
        assert_eq!(t, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
