//! Synthetic three-phase captures whose answers are known in closed form.
//!
//! Voltages are a positive-sequence set plus, for unbalance, a negative-sequence
//! set of `unbalance` percent of it, so the negative/positive ratio is exactly
//! what was asked. Currents are positive sequence, displaced by the power-factor
//! angle. Harmonics of order h follow each phase's fundamental angle times h.

use std::f64::consts::{PI, SQRT_2};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::Capture;
use super::cfg::{AnalogChannel, Config, DataType, PrimarySecondary, Revision, StatusChannel};
use super::dat::Samples;
use super::text::TextEncoding;
use super::timing::{RateSegment, StampTime};

/// A voltage disturbance applied to some phases for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct Disturbance {
    pub kind: DisturbanceKind,
    /// Affected phases, indices 0..3 for A, B, C.
    pub phases: Vec<usize>,
    /// Seconds from the first sample.
    pub start: f64,
    pub duration: f64,
    /// Residual (sag, interruption) or peak (swell) voltage, percent of nominal.
    pub depth: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisturbanceKind {
    Sag,
    Swell,
    Interruption,
}

impl DisturbanceKind {
    fn default_depth(self) -> f64 {
        match self {
            DisturbanceKind::Sag => 60.0,
            DisturbanceKind::Swell => 120.0,
            DisturbanceKind::Interruption => 0.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DisturbanceKind::Sag => "sag",
            DisturbanceKind::Swell => "swell",
            DisturbanceKind::Interruption => "interruption",
        }
    }

    fn status_name(self) -> &'static str {
        match self {
            DisturbanceKind::Sag => "SAG_ACTIVE",
            DisturbanceKind::Swell => "SWELL_ACTIVE",
            DisturbanceKind::Interruption => "INTERRUPTION_ACTIVE",
        }
    }
}

/// The highest swell written: ten times nominal is past any insulation, so
/// more is a typing slip rather than a test case.
const MAX_SWELL_PCT: f64 = 1000.0;

/// The largest harmonic written, in percent of the fundamental.
const MAX_HARMONIC_PCT: f64 = 1000.0;

impl Disturbance {
    /// Parses `phase=A,start=1.0,duration=0.1,depth=60`; phase may be A, B, C,
    /// several letters such as AB, or ABC.
    pub fn parse(kind: DisturbanceKind, text: &str) -> Result<Disturbance, String> {
        let mut disturbance = Disturbance {
            kind,
            phases: vec![0, 1, 2],
            start: f64::NAN,
            duration: f64::NAN,
            depth: kind.default_depth(),
        };
        let mut seen = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                format!("'{pair}': expected key=value (phase, start, duration, depth)")
            })?;
            if seen.contains(&key.trim()) {
                return Err(format!("{}= is given twice", key.trim()));
            }
            seen.push(key.trim());
            let number = || -> Result<f64, String> {
                value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        format!("{key}: expected a number of 0 or more, found '{value}'")
                    })
            };
            match key.trim() {
                "phase" => disturbance.phases = parse_phases(value)?,
                "start" => disturbance.start = number()?,
                "duration" => disturbance.duration = number()?,
                "depth" => disturbance.depth = number()?,
                other => {
                    return Err(format!(
                        "unknown key '{other}': expected phase, start, duration or depth"
                    ));
                }
            }
        }
        if disturbance.start.is_nan() || disturbance.duration.is_nan() {
            return Err("start= and duration= are required (seconds)".into());
        }
        Ok(disturbance)
    }

    /// Refuses a disturbance the waveform cannot show as what it is called.
    fn check(&self, duration: f64) -> Result<(), SynthError> {
        let refuse = |problem: String| SynthError {
            field: SynthField::Disturbance(self.kind),
            problem,
        };
        if self.start >= duration {
            return Err(refuse(format!(
                "start={} s is at or after the end of the {duration} s waveform",
                self.start
            )));
        }
        if self.duration <= 0.0 {
            return Err(refuse(format!(
                "duration={} s: a disturbance lasts longer than 0 s",
                self.duration
            )));
        }
        let fits = match self.kind {
            DisturbanceKind::Sag | DisturbanceKind::Interruption => self.depth < 100.0,
            DisturbanceKind::Swell => self.depth > 100.0 && self.depth <= MAX_SWELL_PCT,
        };
        if !fits {
            let wanted = match self.kind {
                DisturbanceKind::Swell => {
                    "a swell's peak is above 100 % and at most 1000 % of nominal"
                }
                _ => "the residual voltage is from 0 to below 100 % of nominal",
            };
            return Err(refuse(format!("depth={} %: {wanted}", self.depth)));
        }
        Ok(())
    }

    fn active(&self, t: f64) -> bool {
        t >= self.start && t < self.start + self.duration
    }
}

fn parse_phases(text: &str) -> Result<Vec<usize>, String> {
    let mut phases = Vec::new();
    for c in text.trim().chars() {
        let phase = match c.to_ascii_uppercase() {
            'A' => 0,
            'B' => 1,
            'C' => 2,
            _ => return Err(format!("phase: expected letters A, B, C, found '{text}'")),
        };
        if !phases.contains(&phase) {
            phases.push(phase);
        }
    }
    if phases.is_empty() {
        return Err("phase: expected A, B, C or a combination such as ABC".into());
    }
    Ok(phases)
}

/// A list of `order:percent` harmonics such as `3:5,5:3`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Harmonics(pub Vec<(u32, f64)>);

impl FromStr for Harmonics {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mut list = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (order, percent) = item
                .split_once(':')
                .ok_or_else(|| format!("'{item}': expected order:percent, e.g. 3:5"))?;
            let order: u32 = order
                .trim()
                .parse()
                .ok()
                .filter(|o| (2..=63).contains(o))
                .ok_or_else(|| {
                    format!("'{item}': harmonic order must be a whole number from 2 to 63")
                })?;
            let percent: f64 = percent
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=MAX_HARMONIC_PCT).contains(p))
                .ok_or_else(|| format!("'{item}': percent must be from 0 to {MAX_HARMONIC_PCT}"))?;
            if list.iter().any(|&(o, _)| o == order) {
                return Err(format!("'{item}': harmonic {order} is given twice"));
            }
            list.push((order, percent));
        }
        Ok(Harmonics(list))
    }
}

/// What to synthesise.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// Actual frequency of the waveform, Hz.
    pub frequency: f64,
    /// Line-to-neutral RMS voltage (positive sequence), V.
    pub voltage: f64,
    /// RMS current per phase, A.
    pub current: f64,
    /// Displacement power factor, positive lagging, negative leading.
    pub power_factor: f64,
    pub harmonics: Harmonics,
    /// The currents' harmonics, when they differ from the voltages' (a
    /// rectifier load draws far more distortion than the supply shows).
    pub current_harmonics: Option<Harmonics>,
    /// Negative over positive sequence voltage, percent.
    pub unbalance: f64,
    pub disturbances: Vec<Disturbance>,
    /// Gaussian noise, standard deviation in percent of the channel's nominal RMS.
    pub noise: f64,
    pub seed: u64,
    pub duration: f64,
    pub samples_per_cycle: u32,
    pub start: NaiveDateTime,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            frequency: 50.0,
            voltage: 230.0,
            current: 100.0,
            power_factor: 1.0,
            harmonics: Harmonics::default(),
            current_harmonics: None,
            unbalance: 0.0,
            disturbances: Vec::new(),
            noise: 0.0,
            seed: 0,
            duration: 2.0,
            samples_per_cycle: 256,
            start: NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default(),
        }
    }
}

impl SynthSpec {
    /// The nominal system frequency nearest the waveform's: 50 or 60 Hz.
    pub fn nominal_frequency(&self) -> f64 {
        if self.frequency < 55.0 { 50.0 } else { 60.0 }
    }

    /// Fixed sampling at `samples_per_cycle` of the nominal frequency, as a
    /// non-tracking recorder does, so off-nominal signals are not cycle-locked.
    pub fn sample_rate(&self) -> f64 {
        self.samples_per_cycle as f64 * self.nominal_frequency()
    }

    pub fn check(&self) -> Result<(), SynthError> {
        let refuse = |field: SynthField, problem: String| Err(SynthError { field, problem });
        let positive = |v: f64, field: SynthField| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                refuse(field, "must be greater than 0".into())
            }
        };
        positive(self.frequency, SynthField::Frequency)?;
        positive(self.duration, SynthField::Duration)?;
        if !(self.voltage.is_finite() && self.voltage >= 0.0) {
            return refuse(SynthField::Voltage, "must be 0 or more".into());
        }
        if !(self.current.is_finite() && self.current >= 0.0) {
            return refuse(SynthField::Current, "must be 0 or more".into());
        }
        if !(self.power_factor.abs() <= 1.0 && self.power_factor != 0.0) {
            return refuse(
                SynthField::PowerFactor,
                "must be between -1 and 1 and not 0 (negative for leading)".into(),
            );
        }
        if self.samples_per_cycle < 8 || self.samples_per_cycle > 65536 {
            return refuse(
                SynthField::SamplesPerCycle,
                "must be between 8 and 65536".into(),
            );
        }
        if !(self.unbalance.is_finite() && (0.0..100.0).contains(&self.unbalance)) {
            return refuse(
                SynthField::Unbalance,
                "must be from 0 to under 100 percent".into(),
            );
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return refuse(SynthField::Noise, "must be 0 or more".into());
        }
        let samples = self.duration * self.sample_rate();
        // Every sample of seven channels is held twice while generating.
        if samples > 2e7 {
            return refuse(
                SynthField::Duration,
                format!(
                    "{} s of {} samples a cycle is {samples:.0} samples, too many; shorten \
                     it or lower the samples per cycle",
                    self.duration, self.samples_per_cycle
                ),
            );
        }
        let nyquist = self.sample_rate() / 2.0;
        if self.frequency >= nyquist {
            return refuse(
                SynthField::Frequency,
                format!(
                    "{} Hz is at or above the Nyquist limit of {nyquist} Hz of the {} Hz \
                     sampling ({} samples a cycle); lower the frequency or raise the samples \
                     per cycle",
                    self.frequency,
                    self.sample_rate(),
                    self.samples_per_cycle
                ),
            );
        }
        for d in &self.disturbances {
            d.check(self.duration)?;
        }
        let current = self.current_harmonics.iter().flat_map(|h| h.0.iter());
        for (field, list) in [
            (
                SynthField::Harmonics,
                self.harmonics.0.iter().collect::<Vec<_>>(),
            ),
            (SynthField::CurrentHarmonics, current.collect()),
        ] {
            if let Some((order, _)) = list.iter().find(|(h, _)| *h * 2 >= self.samples_per_cycle) {
                return refuse(
                    field,
                    format!(
                        "harmonic {order} is above the Nyquist limit of {} samples a cycle",
                        self.samples_per_cycle
                    ),
                );
            }
        }
        Ok(())
    }
}

/// What of a synthesis spec a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthField {
    Frequency,
    Duration,
    Voltage,
    Current,
    PowerFactor,
    SamplesPerCycle,
    Unbalance,
    Noise,
    Harmonics,
    CurrentHarmonics,
    Disturbance(DisturbanceKind),
}

impl SynthField {
    pub fn name(self) -> &'static str {
        match self {
            SynthField::Frequency => "frequency",
            SynthField::Duration => "duration",
            SynthField::Voltage => "voltage",
            SynthField::Current => "current",
            SynthField::PowerFactor => "power factor",
            SynthField::SamplesPerCycle => "samples per cycle",
            SynthField::Unbalance => "unbalance",
            SynthField::Noise => "noise",
            SynthField::Harmonics => "harmonics",
            SynthField::CurrentHarmonics => "current harmonics",
            SynthField::Disturbance(kind) => kind.name(),
        }
    }
}

/// A waveform that cannot be synthesised: which part of the spec, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", field.name())]
pub struct SynthError {
    pub field: SynthField,
    pub problem: String,
}

/// Seconds of the built-in feeder; replayed in a loop, so its one sag comes
/// round this often.
pub const FEEDER_SECONDS: f64 = 30.0;

/// The built-in feeder meter-core replays when given nothing else: a 230 V,
/// 50 Hz three-phase supply to a lagging load (displacement pf 0.87), the
/// voltage lightly distorted (3rd, 5th, 7th) and the current far more, as a
/// rectifier load draws it, with one sag of phase A to 70 % for 2.5 s in
/// each 30 s: as long as a motor start pulls it, so a poll every second
/// sees it more than once. 128 samples a cycle keeps it small enough to build in a
/// blink and still resolves every harmonic it carries.
pub fn feeder() -> SynthSpec {
    SynthSpec {
        frequency: 50.0,
        voltage: 230.0,
        current: 80.0,
        power_factor: 0.87,
        harmonics: Harmonics(vec![(3, 1.5), (5, 3.0), (7, 1.5)]),
        current_harmonics: Some(Harmonics(vec![(3, 12.0), (5, 8.0), (7, 5.0)])),
        disturbances: vec![Disturbance {
            kind: DisturbanceKind::Sag,
            phases: vec![0],
            start: 20.0,
            duration: 2.5,
            depth: 70.0,
        }],
        duration: FEEDER_SECONDS,
        samples_per_cycle: 128,
        ..SynthSpec::default()
    }
}

const PHASE_LETTERS: [&str; 3] = ["A", "B", "C"];

/// Builds the capture in memory with raw values suited to `data_type`.
pub fn generate(
    spec: &SynthSpec,
    revision: Revision,
    data_type: DataType,
) -> Result<Capture, SynthError> {
    spec.check()?;
    let rate = spec.sample_rate();
    let count = (spec.duration * rate).round() as usize + 1;
    let omega = 2.0 * PI * spec.frequency;
    let u = spec.unbalance / 100.0;
    let phi = spec.power_factor.abs().acos() * spec.power_factor.signum();
    let positive = [0.0, -2.0 * PI / 3.0, 2.0 * PI / 3.0];
    let negative = [0.0, 2.0 * PI / 3.0, -2.0 * PI / 3.0];

    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let normal = Normal::new(0.0, 1.0).map_err(|e| SynthError {
        field: SynthField::Noise,
        problem: e.to_string(),
    })?;
    let mut noise = |rms: f64| {
        if spec.noise > 0.0 {
            normal.sample(&mut rng) * rms * spec.noise / 100.0
        } else {
            0.0
        }
    };

    // Columns in engineering units: VA VB VC IA IB IC IN.
    let mut columns: Vec<Vec<f64>> = (0..7).map(|_| Vec::with_capacity(count)).collect();
    let mut flags: Vec<u16> = Vec::with_capacity(count);
    for n in 0..count {
        let t = n as f64 / rate;
        let mut flag = 0u16;
        let mut residual = 0.0;
        for p in 0..3 {
            let mut voltage_factor = 1.0;
            let mut current_factor = 1.0;
            for d in spec
                .disturbances
                .iter()
                .filter(|d| d.phases.contains(&p) && d.active(t))
            {
                voltage_factor = d.depth / 100.0;
                if d.kind == DisturbanceKind::Interruption {
                    current_factor = d.depth / 100.0;
                }
                flag |= 1 << d.kind as u16;
            }
            let wave = |angle: f64, magnitude: f64, harmonics: &Harmonics| -> f64 {
                let mut v = (omega * t + angle).cos();
                for &(h, percent) in &harmonics.0 {
                    v += percent / 100.0 * (h as f64 * (omega * t + angle)).cos();
                }
                SQRT_2 * magnitude * v
            };
            let unbalance = SQRT_2 * spec.voltage * u * (omega * t + negative[p]).cos();
            let v = (wave(positive[p], spec.voltage, &spec.harmonics) + unbalance) * voltage_factor
                + noise(spec.voltage);
            let current_harmonics = spec.current_harmonics.as_ref().unwrap_or(&spec.harmonics);
            let i = wave(positive[p] - phi, spec.current, current_harmonics) * current_factor;
            residual += i;
            columns[p].push(v);
            columns[3 + p].push(i + noise(spec.current));
        }
        columns[6].push(residual + noise(spec.current));
        flags.push(flag);
    }

    let limit = match (data_type, revision) {
        (DataType::Float32, _) => None,
        (DataType::Binary, _) | (DataType::Ascii, Revision::R1991 | Revision::R1999) => {
            Some(i16::MAX as f64)
        }
        _ => Some(i32::MAX as f64),
    };
    let names = ["VA", "VB", "VC", "IA", "IB", "IC", "IN"];
    let mut analog = Vec::with_capacity(7);
    let mut raw_columns = Vec::with_capacity(7);
    for (k, column) in columns.iter().enumerate() {
        let (a, raw): (f64, Vec<f64>) = match limit {
            None => (1.0, column.iter().map(|&e| (e as f32) as f64).collect()),
            Some(limit) => {
                let peak = column.iter().fold(0.0f64, |m, e| m.max(e.abs()));
                let a = if peak > 0.0 { peak / limit } else { 1.0 };
                (a, column.iter().map(|&e| (e / a).round()).collect())
            }
        };
        let (min, max) = match limit {
            None => (-f32::MAX as f64, f32::MAX as f64),
            Some(limit) => (-limit, limit),
        };
        analog.push(AnalogChannel {
            index: k as u32 + 1,
            name: names[k].to_string(),
            phase: if k == 6 {
                "N".into()
            } else {
                PHASE_LETTERS[k % 3].to_string()
            },
            circuit: "SYNTH".into(),
            unit: if k < 3 { "V".into() } else { "A".into() },
            a,
            b: 0.0,
            skew: 0.0,
            min,
            max,
            primary: Some(1.0),
            secondary: Some(1.0),
            scaling: Some(PrimarySecondary::Primary),
        });
        raw_columns.push(raw);
    }
    let kinds = [
        DisturbanceKind::Sag,
        DisturbanceKind::Swell,
        DisturbanceKind::Interruption,
    ];
    let status = kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| StatusChannel {
            index: k as u32 + 1,
            name: kind.status_name().into(),
            phase: String::new(),
            circuit: "SYNTH".into(),
            normal_state: 0,
        })
        .collect::<Vec<_>>();

    let mut samples = Samples::new(7, status.len(), count);
    for (n, flag) in flags.iter().enumerate() {
        let t = n as f64 / rate;
        samples.push(
            n as u64 + 1,
            Some((t * 1e6).round() as i64),
            raw_columns.iter().map(|c| c[n]),
            &[*flag],
        );
    }
    let first_event = spec
        .disturbances
        .iter()
        .map(|d| d.start)
        .fold(f64::INFINITY, f64::min);
    let trigger_offset = if first_event.is_finite() {
        first_event
    } else {
        0.0
    };
    let trigger = spec.start + chrono::Duration::nanoseconds((trigger_offset * 1e9).round() as i64);
    let config = Config {
        station: "meterscope synth".into(),
        device: format!(
            "{}Hz {}V {}A pf {}",
            spec.frequency, spec.voltage, spec.current, spec.power_factor
        ),
        rev_year: revision.year(),
        revision,
        analog,
        status,
        line_frequency: spec.nominal_frequency(),
        rates: vec![RateSegment {
            rate,
            end_sample: count as u64,
        }],
        start: StampTime::from_datetime(spec.start),
        trigger: StampTime::from_datetime(trigger),
        data_type,
        timemult: 1.0,
        time_code: (revision == Revision::R2013).then(|| "0".into()),
        local_code: (revision == Revision::R2013).then(|| "0".into()),
        time_quality: (revision == Revision::R2013).then(|| "0".into()),
        leap_second: (revision == Revision::R2013).then(|| "0".into()),
    };
    Ok(Capture {
        config,
        samples,
        header: Some(describe(spec)),
        encoding: TextEncoding::UTF8,
        warnings: Vec::new(),
    })
}

/// The header text: what was asked for, so a capture documents its own answers.
fn describe(spec: &SynthSpec) -> String {
    let mut text = format!(
        "meterscope synthetic capture\nfrequency {} Hz, voltage {} V L-N RMS, current {} A RMS, pf {}\n\
         unbalance {} %, noise {} % (seed {}), {} samples per nominal cycle\n",
        spec.frequency,
        spec.voltage,
        spec.current,
        spec.power_factor,
        spec.unbalance,
        spec.noise,
        spec.seed,
        spec.samples_per_cycle
    );
    for (h, p) in &spec.harmonics.0 {
        text.push_str(&format!("harmonic {h}: {p} % of fundamental\n"));
    }
    for d in &spec.disturbances {
        let phases: String = d.phases.iter().map(|&p| PHASE_LETTERS[p]).collect();
        text.push_str(&format!(
            "{:?} phase {phases} start {} s duration {} s depth {} %\n",
            d.kind, d.start, d.duration, d.depth
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_part_of_the_spec_and_no_flag() {
        let spec = SynthSpec {
            frequency: 250.0,
            samples_per_cycle: 8,
            ..SynthSpec::default()
        };
        let refused = generate(&spec, Revision::R2013, DataType::Float32).unwrap_err();
        assert_eq!(refused.field, SynthField::Frequency);
        assert!(
            refused
                .to_string()
                .starts_with("frequency: 250 Hz is at or above")
        );
        let spiky = SynthSpec {
            current_harmonics: Some(Harmonics(vec![(200, 1.0)])),
            ..SynthSpec::default()
        };
        let refused = spiky.check().unwrap_err();
        assert_eq!(refused.field, SynthField::CurrentHarmonics);
        assert!(!refused.to_string().contains("--"), "{refused}");
        assert_eq!(feeder().check(), Ok(()));
    }

    fn refused(spec: SynthSpec) -> String {
        generate(&spec, Revision::R2013, DataType::Float32)
            .unwrap_err()
            .to_string()
    }

    fn with(kind: DisturbanceKind, text: &str) -> SynthSpec {
        SynthSpec {
            duration: 1.0,
            disturbances: vec![Disturbance::parse(kind, text).unwrap()],
            ..SynthSpec::default()
        }
    }

    #[test]
    fn what_cannot_be_written_truthfully_is_refused() {
        let nyquist = SynthSpec {
            frequency: 54.0,
            samples_per_cycle: 8,
            duration: 0.1,
            ..SynthSpec::default()
        };
        assert!(generate(&nyquist, Revision::R2013, DataType::Float32).is_ok());
        let above = SynthSpec {
            frequency: 240.0,
            ..nyquist
        };
        // 240 Hz waves sampled at 8 x 60 Hz: two samples a cycle, no wave at all.
        assert!(refused(above).contains("Nyquist limit of 240 Hz"));
        let late = with(DisturbanceKind::Sag, "start=1.0,duration=0.1");
        assert!(refused(late).contains("after the end of the 1 s waveform"));
        let not_a_sag = with(DisturbanceKind::Sag, "start=0.2,duration=0.1,depth=100");
        assert!(refused(not_a_sag).contains("sag: depth=100 %"));
        let not_a_swell = with(DisturbanceKind::Swell, "start=0.2,duration=0.1,depth=90");
        assert!(refused(not_a_swell).contains("swell: depth=90 %"));
        let fine = with(DisturbanceKind::Swell, "start=0.2,duration=0.1,depth=115");
        assert!(generate(&fine, Revision::R2013, DataType::Float32).is_ok());
        let instant = with(DisturbanceKind::Sag, "start=0.2,duration=0,depth=50");
        assert!(refused(instant).contains("sag: duration=0 s"));
        let absurd = with(DisturbanceKind::Swell, "start=0.2,duration=0.1,depth=1e9");
        assert!(refused(absurd).contains("at most 1000 %"));
        let twice = Disturbance::parse(DisturbanceKind::Sag, "start=0.2,depth=60,depth=30");
        assert_eq!(twice.unwrap_err(), "depth= is given twice");
        assert!(
            "3:1e9"
                .parse::<Harmonics>()
                .unwrap_err()
                .contains("from 0 to 1000")
        );
        assert!(
            "3:5,3:2"
                .parse::<Harmonics>()
                .unwrap_err()
                .contains("given twice")
        );
    }
}
