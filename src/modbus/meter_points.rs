//! meter-core's readings as register values: which quantity of a meter
//! snapshot each named point of a profile carries.

use chrono::NaiveDateTime;

use super::image::RegisterImage;
use super::map::{Point, RegisterMap, Spot};
use super::value::{PointType, encode_date_time, encode_number, encode_power_factor, encode_text};
use crate::meter::measure::demand::DemandMethod;
use crate::meter::measure::events::{EventKind, EventPhase};
use crate::meter::measure::roles::Role;
use crate::meter::measure::spectrum::difference_thd;
use crate::meter::measure::window::ChannelReading;
use crate::meter::replay::MeterSnapshot;

/// What a meter says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub model: String,
    pub manufacturer: String,
    pub serial_number: u32,
    pub firmware: (u16, u16, u16),
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            name: "meter-core".into(),
            model: "meter-core".into(),
            manufacturer: "meterscope".into(),
            serial_number: 1,
            firmware: (3, 0, 0),
        }
    }
}

/// Samples per channel in the scope block.
pub const SCOPE_SAMPLES: usize = 128;

/// A point's value, as a number or in a form of its own.
#[derive(Debug)]
enum Value {
    Number(f64),
    PowerFactor { pf: f64, q: f64 },
    Text(String),
    Time(NaiveDateTime),
    Numbers(Vec<f64>),
    Version(u16, u16, u16),
}

/// What a point of a served profile carries, resolved from its name once
/// when the profile is taken up, so an image is built without a look at a
/// name, and a name meter-core does not know is refused rather than left
/// reading 0x8000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    MeterName,
    MeterModel,
    Manufacturer,
    SerialNumber,
    FirmwarePacked,
    Firmware,
    MeterTime,
    EnergyDeliveredKwh,
    EnergyReceivedKwh,
    EnergyDeliveredWh,
    EnergyReceivedWh,
    ReactiveEnergyDeliveredVarh,
    ReactiveEnergyReceivedVarh,
    ApparentEnergyVah,
    CurrentNeutral,
    /// A ground current: meter-core has no such input, so it reads NaN.
    CurrentGround,
    CurrentAverage,
    /// A-B, B-C, C-A by index.
    VoltageLineToLine(usize),
    VoltageLineToLineAverage,
    VoltageLineToNeutralAverage,
    ActivePowerTotal,
    ReactivePowerTotal,
    ApparentPowerTotal,
    PowerFactorTotal,
    Frequency,
    Frequency10s,
    VoltageUnbalance,
    DemandPresent,
    DemandPeak,
    DemandPeakTime,
    DemandMethod,
    DemandInterval,
    /// No neutral spectrum is kept: NaN.
    ThdCurrentNeutral,
    ThdVoltageLineToLine(usize),
    CoreBlockVersion,
    ReplayLoops,
    ReplayPosition,
    WindowsMeasured,
    EventCount,
    LastEventKind,
    LastEventPhase,
    LastEventStart,
    LastEventDuration,
    LastEventExtreme,
    ScopeSamples,
    ScopeInterval,
    Scope(Role),
    /// A per-phase quantity of phase 0, 1 or 2.
    Phase(PhaseQuantity, usize),
}

/// A quantity each phase has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseQuantity {
    Current,
    Voltage,
    ActivePower,
    ReactivePower,
    ApparentPower,
    PowerFactor,
    DisplacementPowerFactor,
    ThdCurrent,
    ThdVoltage,
    AngleVoltage,
    AngleCurrent,
    HarmonicsVoltage,
    HarmonicsCurrent,
}

impl Quantity {
    /// The quantity a point of this name carries, if meter-core has it.
    pub fn of_name(name: &str) -> Option<Quantity> {
        use Quantity as Q;
        let line = |name: &str, names: [&str; 3]| names.iter().position(|n| *n == name);
        Some(match name {
            "meter_name" => Q::MeterName,
            "meter_model" => Q::MeterModel,
            "manufacturer" => Q::Manufacturer,
            "serial_number" => Q::SerialNumber,
            "firmware_packed" => Q::FirmwarePacked,
            "firmware" => Q::Firmware,
            "meter_time" => Q::MeterTime,
            "energy_delivered_kwh" => Q::EnergyDeliveredKwh,
            "energy_received_kwh" => Q::EnergyReceivedKwh,
            "energy_delivered_wh" => Q::EnergyDeliveredWh,
            "energy_received_wh" => Q::EnergyReceivedWh,
            "reactive_energy_delivered_varh" => Q::ReactiveEnergyDeliveredVarh,
            "reactive_energy_received_varh" => Q::ReactiveEnergyReceivedVarh,
            "apparent_energy_vah" => Q::ApparentEnergyVah,
            "current_n" => Q::CurrentNeutral,
            "current_g" => Q::CurrentGround,
            "current_avg" => Q::CurrentAverage,
            "voltage_ab" | "voltage_bc" | "voltage_ca" => {
                Q::VoltageLineToLine(line(name, ["voltage_ab", "voltage_bc", "voltage_ca"])?)
            }
            "voltage_ll_avg" => Q::VoltageLineToLineAverage,
            "voltage_ln_avg" => Q::VoltageLineToNeutralAverage,
            "active_power_total" => Q::ActivePowerTotal,
            "reactive_power_total" => Q::ReactivePowerTotal,
            "apparent_power_total" => Q::ApparentPowerTotal,
            "power_factor_total" => Q::PowerFactorTotal,
            "frequency" => Q::Frequency,
            "frequency_10s" => Q::Frequency10s,
            "voltage_unbalance" => Q::VoltageUnbalance,
            "demand_kw_present" => Q::DemandPresent,
            "demand_kw_peak" => Q::DemandPeak,
            "demand_kw_peak_time" => Q::DemandPeakTime,
            "demand_method" => Q::DemandMethod,
            "demand_interval_s" => Q::DemandInterval,
            "thd_current_n" => Q::ThdCurrentNeutral,
            "thd_voltage_ab" | "thd_voltage_bc" | "thd_voltage_ca" => Q::ThdVoltageLineToLine(
                line(name, ["thd_voltage_ab", "thd_voltage_bc", "thd_voltage_ca"])?,
            ),
            "core_block_version" => Q::CoreBlockVersion,
            "replay_loops" => Q::ReplayLoops,
            "replay_position_s" => Q::ReplayPosition,
            "windows_measured" => Q::WindowsMeasured,
            "event_count" => Q::EventCount,
            "last_event_kind" => Q::LastEventKind,
            "last_event_phase" => Q::LastEventPhase,
            "last_event_start" => Q::LastEventStart,
            "last_event_duration_s" => Q::LastEventDuration,
            "last_event_extreme_pct" => Q::LastEventExtreme,
            "scope_samples" => Q::ScopeSamples,
            "scope_interval_us" => Q::ScopeInterval,
            _ => {
                if let Some(rest) = name.strip_prefix("scope_") {
                    return scope_role(rest).map(Q::Scope);
                }
                let (stem, suffix) = name.rsplit_once('_')?;
                let phase = match suffix {
                    "a" | "an" => 0,
                    "b" | "bn" => 1,
                    "c" | "cn" => 2,
                    _ => return None,
                };
                let quantity = match stem {
                    "current" => PhaseQuantity::Current,
                    "voltage" => PhaseQuantity::Voltage,
                    "active_power" => PhaseQuantity::ActivePower,
                    "reactive_power" => PhaseQuantity::ReactivePower,
                    "apparent_power" => PhaseQuantity::ApparentPower,
                    "power_factor" => PhaseQuantity::PowerFactor,
                    "displacement_pf" => PhaseQuantity::DisplacementPowerFactor,
                    "thd_current" => PhaseQuantity::ThdCurrent,
                    "thd_voltage" => PhaseQuantity::ThdVoltage,
                    "angle_voltage" => PhaseQuantity::AngleVoltage,
                    "angle_current" => PhaseQuantity::AngleCurrent,
                    "harmonics_voltage" => PhaseQuantity::HarmonicsVoltage,
                    "harmonics_current" => PhaseQuantity::HarmonicsCurrent,
                    _ => return None,
                };
                Q::Phase(quantity, phase)
            }
        })
    }
}

/// A point of a served profile whose name meter-core does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{at}: point '{name}': meter-core has no such quantity, so it cannot be served \
     (names are those of the meter-core profile, such as voltage_an or thd_current_a)"
)]
pub struct UnknownPoint {
    pub name: String,
    pub at: Spot,
}

/// Builds register images of meter snapshots under one profile, each
/// point resolved to its quantity once.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    map: RegisterMap,
    /// One per point of the map, in its order.
    quantities: Vec<Quantity>,
    identity: Identity,
}

impl ImageBuilder {
    /// Resolves every point of `map`; the first name meter-core does not
    /// know is refused with where the profile defines it.
    pub fn new(map: RegisterMap, identity: Identity) -> Result<ImageBuilder, UnknownPoint> {
        let quantities = map
            .points
            .iter()
            .map(|p| {
                Quantity::of_name(&p.name).ok_or_else(|| UnknownPoint {
                    name: p.name.clone(),
                    at: p.at.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ImageBuilder {
            map,
            quantities,
            identity,
        })
    }

    pub fn map(&self) -> &RegisterMap {
        &self.map
    }

    /// The register image of `snapshot`.
    pub fn image(&self, snapshot: &MeterSnapshot) -> RegisterImage {
        let mut image = RegisterImage::new(&self.map);
        for (point, quantity) in self.map.points.iter().zip(&self.quantities) {
            if let Some(value) = value_of(*quantity, snapshot, &self.identity) {
                image.set(point.register, &encode(point, value));
            }
        }
        image
    }
}

fn encode(point: &Point, value: Value) -> Vec<u16> {
    let one = |v: f64| encode_number(point.kind, v, point.word_order, point.scale);
    match (value, point.kind) {
        (Value::Text(text), PointType::Utf8(n)) => encode_text(&text, n),
        (Value::Time(t), PointType::DateTime) => encode_date_time(t),
        (Value::Version(a, b, c), PointType::Version) => vec![a, b, c],
        (Value::PowerFactor { pf, q }, PointType::PowerFactor4q) => {
            encode_power_factor(pf, q, point.word_order)
        }
        (Value::PowerFactor { pf, .. }, _) => one(pf),
        (Value::Number(v), _) => one(v),
        (Value::Numbers(values), _) => {
            let mut words = Vec::with_capacity(point.len() as usize);
            for k in 0..point.count as usize {
                words.extend(one(values.get(k).copied().unwrap_or(f64::NAN)));
            }
            words
        }
        // A value that does not fit the point's type is left reserved.
        _ => Vec::new(),
    }
}

fn value_of(quantity: Quantity, snap: &MeterSnapshot, id: &Identity) -> Option<Value> {
    use Quantity as Q;
    let w = snap.reading.as_ref();
    let number = |v: Option<f64>| Some(Value::Number(v.unwrap_or(f64::NAN)));
    let phase = |p: usize| w.map(|w| &w.phases[p]);
    let voltage = |p: usize| phase(p).and_then(|x| x.voltage.as_ref());
    let current = |p: usize| phase(p).and_then(|x| x.current.as_ref());
    let power = |p: usize| phase(p).and_then(|x| x.power);
    let kilo = |v: Option<f64>| v.map(|v| v / 1000.0);
    let thd = |c: Option<&ChannelReading>| c.and_then(|c| c.harmonics.thd(50));
    let average = |values: [Option<f64>; 3]| {
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
    };
    let line = |k: usize| w.and_then(|w| w.line_voltages[k]);
    let totals = w.and_then(|w| w.totals);
    let demand = snap.demand.selected();
    let last_event = snap.events.last();

    let value = match quantity {
        Q::MeterName => Value::Text(id.name.clone()),
        Q::MeterModel => Value::Text(id.model.clone()),
        Q::Manufacturer => Value::Text(id.manufacturer.clone()),
        Q::SerialNumber => Value::Number(id.serial_number as f64),
        Q::FirmwarePacked => Value::Number(f64::from(
            u32::from(id.firmware.0) * 256 + u32::from(id.firmware.1),
        )),
        Q::Firmware => Value::Version(id.firmware.0, id.firmware.1, id.firmware.2),
        Q::MeterTime => Value::Time(snap.time),
        Q::EnergyDeliveredKwh => Value::Number(snap.energy.wh_delivered / 1000.0),
        Q::EnergyReceivedKwh => Value::Number(snap.energy.wh_received / 1000.0),
        Q::EnergyDeliveredWh => Value::Number(snap.energy.wh_delivered.floor()),
        Q::EnergyReceivedWh => Value::Number(snap.energy.wh_received.floor()),
        Q::ReactiveEnergyDeliveredVarh => Value::Number(snap.energy.varh_delivered.floor()),
        Q::ReactiveEnergyReceivedVarh => Value::Number(snap.energy.varh_received.floor()),
        Q::ApparentEnergyVah => Value::Number(snap.energy.vah.floor()),
        Q::CurrentNeutral => return number(w.and_then(|w| w.neutral).map(|n| n.rms)),
        Q::CurrentGround | Q::ThdCurrentNeutral => return number(None),
        Q::CurrentAverage => {
            return number(average(std::array::from_fn(|p| current(p).map(|c| c.rms))));
        }
        Q::VoltageLineToLine(k) => return number(line(k)),
        Q::VoltageLineToLineAverage => return number(average([line(0), line(1), line(2)])),
        Q::VoltageLineToNeutralAverage => {
            return number(average(std::array::from_fn(|p| voltage(p).map(|v| v.rms))));
        }
        Q::ActivePowerTotal => return number(kilo(totals.map(|t| t.p))),
        Q::ReactivePowerTotal => return number(kilo(totals.map(|t| t.q))),
        Q::ApparentPowerTotal => return number(kilo(totals.map(|t| t.s))),
        Q::PowerFactorTotal => Value::PowerFactor {
            pf: totals.and_then(|t| t.power_factor()).unwrap_or(f64::NAN),
            q: totals.map_or(0.0, |t| t.q),
        },
        Q::Frequency => return number(w.and_then(|w| w.frequency)),
        Q::Frequency10s => return number(snap.frequency_10s.as_ref().and_then(|f| f.hz)),
        Q::VoltageUnbalance => return number(w.and_then(|w| w.unbalance)),
        Q::DemandPresent => return number(kilo(demand.present)),
        Q::DemandPeak => return number(kilo(demand.peak)),
        Q::DemandPeakTime => Value::Time(snap.time_of(demand.peak_at?)?),
        Q::DemandMethod => Value::Number(match snap.demand.config().method {
            DemandMethod::Block => 0.0,
            DemandMethod::Sliding => 1.0,
            DemandMethod::Thermal => 2.0,
        }),
        Q::DemandInterval => Value::Number(snap.demand.config().interval),
        Q::ThdVoltageLineToLine(k) => {
            let (a, b) = (voltage(k), voltage((k + 1) % 3));
            return number(
                a.zip(b)
                    .and_then(|(a, b)| difference_thd(&a.harmonics, &b.harmonics, 50)),
            );
        }
        Q::CoreBlockVersion => Value::Number(1.0),
        Q::ReplayLoops => Value::Number(snap.loops as f64),
        Q::ReplayPosition => Value::Number(snap.position_s),
        Q::WindowsMeasured => Value::Number(snap.windows as f64),
        Q::EventCount => Value::Number(snap.event_count as f64),
        Q::LastEventKind => Value::Number(match last_event.map(|e| e.kind) {
            None => 0.0,
            Some(EventKind::Sag) => 1.0,
            Some(EventKind::Swell) => 2.0,
            Some(EventKind::Interruption) => 3.0,
        }),
        Q::LastEventPhase => Value::Number(match last_event.map(|e| e.phase) {
            None => 0.0,
            Some(EventPhase::Single(p)) => p as f64 + 1.0,
            Some(EventPhase::Polyphase) => 7.0,
        }),
        Q::LastEventStart => Value::Time(snap.time_of(last_event?.start)?),
        Q::LastEventDuration => return number(last_event.map(|e| e.duration)),
        Q::LastEventExtreme => return number(last_event.map(|e| e.extreme_pct)),
        Q::ScopeSamples => Value::Number(scope(snap, Role::VoltageA).len() as f64),
        Q::ScopeInterval => {
            let step = decimation(snap);
            let times = &snap.scope.times;
            return number((times.len() >= 2).then(|| (times[1] - times[0]) * step as f64 * 1e6));
        }
        Q::Scope(role) => Value::Numbers(scope(snap, role)),
        Q::Phase(quantity, p) => match quantity {
            PhaseQuantity::Current => return number(current(p).map(|c| c.rms)),
            PhaseQuantity::Voltage => return number(voltage(p).map(|v| v.rms)),
            PhaseQuantity::ActivePower => return number(kilo(power(p).map(|x| x.p))),
            PhaseQuantity::ReactivePower => return number(kilo(power(p).map(|x| x.q1))),
            PhaseQuantity::ApparentPower => return number(kilo(power(p).map(|x| x.s))),
            PhaseQuantity::PowerFactor => Value::PowerFactor {
                pf: power(p).and_then(|x| x.power_factor()).unwrap_or(f64::NAN),
                q: power(p).map_or(0.0, |x| x.q1),
            },
            PhaseQuantity::DisplacementPowerFactor => Value::PowerFactor {
                pf: power(p)
                    .and_then(|x| x.displacement_power_factor())
                    .unwrap_or(f64::NAN),
                q: power(p).map_or(0.0, |x| x.q1),
            },
            PhaseQuantity::ThdCurrent => return number(thd(current(p))),
            PhaseQuantity::ThdVoltage => return number(thd(voltage(p))),
            PhaseQuantity::AngleVoltage => return number(phase(p).and_then(|x| x.voltage_angle)),
            PhaseQuantity::AngleCurrent => return number(phase(p).and_then(|x| x.current_angle)),
            PhaseQuantity::HarmonicsVoltage => Value::Numbers(
                voltage(p)
                    .map(|v| v.harmonics.subgroups.clone())
                    .unwrap_or_default(),
            ),
            PhaseQuantity::HarmonicsCurrent => Value::Numbers(
                current(p)
                    .map(|c| c.harmonics.subgroups.clone())
                    .unwrap_or_default(),
            ),
        },
    };
    Some(value)
}

fn scope_role(name: &str) -> Option<Role> {
    Some(match name {
        "voltage_a" => Role::VoltageA,
        "voltage_b" => Role::VoltageB,
        "voltage_c" => Role::VoltageC,
        "current_a" => Role::CurrentA,
        "current_b" => Role::CurrentB,
        "current_c" => Role::CurrentC,
        "current_n" => Role::CurrentN,
        _ => return None,
    })
}

/// Every how many samples the scope keeps one, to fit its block.
fn decimation(snap: &MeterSnapshot) -> usize {
    snap.scope.times.len().div_ceil(SCOPE_SAMPLES).max(1)
}

fn scope(snap: &MeterSnapshot, role: Role) -> Vec<f64> {
    let step = decimation(snap);
    snap.scope.columns[role.index()]
        .as_ref()
        .map(|c| c.iter().step_by(step).copied().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_resolve_fully() {
        for name in crate::modbus::map::built_in_names() {
            let map = RegisterMap::load(name).unwrap();
            let builder = ImageBuilder::new(map.clone(), Identity::default()).unwrap();
            assert_eq!(builder.quantities.len(), map.points.len(), "{name}");
        }
        assert_eq!(
            Quantity::of_name("thd_voltage_bn"),
            Some(Quantity::Phase(PhaseQuantity::ThdVoltage, 1))
        );
        assert_eq!(
            Quantity::of_name("scope_current_n"),
            Some(Quantity::Scope(Role::CurrentN))
        );
        assert_eq!(
            Quantity::of_name("voltage_ca"),
            Some(Quantity::VoltageLineToLine(2))
        );
        for unknown in ["voltage_dn", "voltag_an", "scope_voltage_d", "", "_a"] {
            assert_eq!(Quantity::of_name(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn a_name_meter_core_does_not_know_is_refused_where_it_is_defined() {
        let text = "// voltage_xn is not a thing\nProfile(\n    name: \"mine\",\n    \
                    extends: Some(\"powerlogic\"),\n    points: [\n        \
                    Point(name: \"voltage_an\", register: 3028, type: f32),\n        \
                    Point(name: \"voltage_xn\", register: 60000, type: f32),\n    ],\n)\n";
        let map = RegisterMap::parse("mine.ron", text).unwrap();
        let refused = ImageBuilder::new(map, Identity::default()).unwrap_err();
        assert_eq!(refused.name, "voltage_xn");
        assert_eq!(
            refused.at,
            Spot {
                file: "mine.ron".into(),
                line: 7,
                column: 21
            }
        );
        assert!(
            refused
                .to_string()
                .starts_with("mine.ron:7:21: point 'voltage_xn': meter-core has no such quantity"),
            "{refused}"
        );
    }

    #[test]
    fn a_resolved_point_carries_the_snapshot_s_value() {
        use crate::meter::measure::MeterConfig;
        use crate::meter::replay::{ManualClock, Pace, Replay, ReplayOptions};
        let spec = crate::comtrade::synth::SynthSpec {
            duration: 1.0,
            ..Default::default()
        };
        let capture = crate::comtrade::synth::generate(
            &spec,
            crate::comtrade::Revision::R2013,
            crate::comtrade::DataType::Float32,
        )
        .unwrap();
        let roles = crate::meter::measure::roles::ChannelMap::for_capture(&capture, None).unwrap();
        let signals = crate::meter::measure::roles::Signals::from_capture(
            capture,
            &roles,
            crate::comtrade::Scale::AsRecorded,
        );
        let mut replay = Replay::new(
            std::sync::Arc::new(signals),
            MeterConfig::new(230.0, 50.0).unwrap(),
            Box::new(ManualClock::default()),
            ReplayOptions {
                pace: Pace::AsFastAsPossible {
                    step: std::time::Duration::from_millis(500),
                },
                ..ReplayOptions::default()
            },
        );
        replay.tick();
        let builder = ImageBuilder::new(
            RegisterMap::load("meter-core").unwrap(),
            Identity::default(),
        )
        .unwrap();
        let image = builder.image(&replay.snapshot());
        let words = image.read(3029, 2).unwrap();
        let volts = f32::from_bits((u32::from(words[0]) << 16) | u32::from(words[1]));
        assert!((volts - 230.0).abs() < 0.05, "V B-N {volts}");
        // Registers 30.. hold the meter's name as UTF-8.
        assert_eq!(
            image.read(29, 5).unwrap(),
            vec![0x6D65, 0x7465, 0x722D, 0x636F, 0x7265]
        );
        // A firmware major of 256 and up packs past 16 bits without
        // overflowing: the value is what it is, the encoder bounds it.
        let id = Identity {
            firmware: (300, 7, 0),
            ..Identity::default()
        };
        let packed = value_of(Quantity::FirmwarePacked, &replay.snapshot(), &id);
        assert!(
            matches!(packed, Some(Value::Number(v)) if v == 76807.0),
            "{packed:?}"
        );
    }
}
