//! meter-core's readings as register values: which quantity of a meter
//! snapshot each named point of a profile carries.

use chrono::NaiveDateTime;

use super::image::RegisterImage;
use super::map::{Point, RegisterMap};
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
enum Value {
    Number(f64),
    PowerFactor { pf: f64, q: f64 },
    Text(String),
    Time(NaiveDateTime),
    Numbers(Vec<f64>),
    Version(u16, u16, u16),
}

/// Builds the register image of `snapshot` under `map`. Points meter-core
/// does not know stay reserved.
pub fn image_of(map: &RegisterMap, snapshot: &MeterSnapshot, identity: &Identity) -> RegisterImage {
    let mut image = RegisterImage::new(map);
    for point in &map.points {
        if let Some(value) = value_of(&point.name, snapshot, identity) {
            image.set(point.register, &encode(point, value));
        }
    }
    image
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

fn value_of(name: &str, snap: &MeterSnapshot, id: &Identity) -> Option<Value> {
    let w = snap.reading.as_ref();
    let number = |v: Option<f64>| Some(Value::Number(v.unwrap_or(f64::NAN)));
    let phase = |p: usize| w.map(|w| &w.phases[p]);
    let voltage = |p: usize| phase(p).and_then(|x| x.voltage.as_ref());
    let current = |p: usize| phase(p).and_then(|x| x.current.as_ref());
    let power = |p: usize| phase(p).and_then(|x| x.power);
    let kilo = |v: Option<f64>| v.map(|v| v / 1000.0);
    let phase_letter = |suffix: &str| match suffix {
        "a" | "an" => Some(0),
        "b" | "bn" => Some(1),
        "c" | "cn" => Some(2),
        _ => None,
    };
    let thd = |c: Option<&ChannelReading>| c.and_then(|c| c.harmonics.thd(50));
    let average = |values: [Option<f64>; 3]| {
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
    };
    let line = |k: usize| w.and_then(|w| w.line_voltages[k]);
    let totals = w.and_then(|w| w.totals);
    let demand = snap.demand.selected();
    let last_event = snap.events.last();

    let value = match name {
        "meter_name" => Value::Text(id.name.clone()),
        "meter_model" => Value::Text(id.model.clone()),
        "manufacturer" => Value::Text(id.manufacturer.clone()),
        "serial_number" => Value::Number(id.serial_number as f64),
        "firmware_packed" => Value::Number((id.firmware.0 * 256 + id.firmware.1) as f64),
        "firmware" => Value::Version(id.firmware.0, id.firmware.1, id.firmware.2),
        "meter_time" => Value::Time(snap.time),
        "energy_delivered_kwh" => Value::Number(snap.energy.wh_delivered / 1000.0),
        "energy_received_kwh" => Value::Number(snap.energy.wh_received / 1000.0),
        "energy_delivered_wh" => Value::Number(snap.energy.wh_delivered.floor()),
        "energy_received_wh" => Value::Number(snap.energy.wh_received.floor()),
        "reactive_energy_delivered_varh" => Value::Number(snap.energy.varh_delivered.floor()),
        "reactive_energy_received_varh" => Value::Number(snap.energy.varh_received.floor()),
        "apparent_energy_vah" => Value::Number(snap.energy.vah.floor()),
        "current_n" => return number(w.and_then(|w| w.neutral).map(|n| n.rms)),
        "current_g" => return number(None),
        "current_avg" => {
            return number(average(std::array::from_fn(|p| current(p).map(|c| c.rms))));
        }
        "voltage_ab" => return number(line(0)),
        "voltage_bc" => return number(line(1)),
        "voltage_ca" => return number(line(2)),
        "voltage_ll_avg" => return number(average([line(0), line(1), line(2)])),
        "voltage_ln_avg" => {
            return number(average(std::array::from_fn(|p| voltage(p).map(|v| v.rms))));
        }
        "active_power_total" => return number(kilo(totals.map(|t| t.p))),
        "reactive_power_total" => return number(kilo(totals.map(|t| t.q))),
        "apparent_power_total" => return number(kilo(totals.map(|t| t.s))),
        "power_factor_total" => Value::PowerFactor {
            pf: totals.and_then(|t| t.power_factor()).unwrap_or(f64::NAN),
            q: totals.map_or(0.0, |t| t.q),
        },
        "frequency" => return number(w.and_then(|w| w.frequency)),
        "frequency_10s" => return number(snap.frequency_10s.as_ref().and_then(|f| f.hz)),
        "voltage_unbalance" => return number(w.and_then(|w| w.unbalance)),
        "demand_kw_present" => return number(kilo(demand.present)),
        "demand_kw_peak" => return number(kilo(demand.peak)),
        "demand_kw_peak_time" => Value::Time(snap.time_of(demand.peak_at?)?),
        "demand_method" => Value::Number(match snap.demand.config().method {
            DemandMethod::Block => 0.0,
            DemandMethod::Sliding => 1.0,
            DemandMethod::Thermal => 2.0,
        }),
        "demand_interval_s" => Value::Number(snap.demand.config().interval),
        "thd_current_n" => return number(None),
        "thd_voltage_ab" | "thd_voltage_bc" | "thd_voltage_ca" => {
            let k = ["thd_voltage_ab", "thd_voltage_bc", "thd_voltage_ca"]
                .iter()
                .position(|n| *n == name)?;
            let (a, b) = (voltage(k), voltage((k + 1) % 3));
            return number(
                a.zip(b)
                    .and_then(|(a, b)| difference_thd(&a.harmonics, &b.harmonics, 50)),
            );
        }
        "core_block_version" => Value::Number(1.0),
        "replay_loops" => Value::Number(snap.loops as f64),
        "replay_position_s" => Value::Number(snap.position_s),
        "windows_measured" => Value::Number(snap.windows as f64),
        "event_count" => Value::Number(snap.event_count as f64),
        "last_event_kind" => Value::Number(match last_event.map(|e| e.kind) {
            None => 0.0,
            Some(EventKind::Sag) => 1.0,
            Some(EventKind::Swell) => 2.0,
            Some(EventKind::Interruption) => 3.0,
        }),
        "last_event_phase" => Value::Number(match last_event.map(|e| e.phase) {
            None => 0.0,
            Some(EventPhase::Single(p)) => p as f64 + 1.0,
            Some(EventPhase::Polyphase) => 7.0,
        }),
        "last_event_start" => Value::Time(snap.time_of(last_event?.start)?),
        "last_event_duration_s" => return number(last_event.map(|e| e.duration)),
        "last_event_extreme_pct" => return number(last_event.map(|e| e.extreme_pct)),
        "scope_samples" => Value::Number(scope(snap, Role::VoltageA).len() as f64),
        "scope_interval_us" => {
            let step = decimation(snap);
            let times = &snap.scope.times;
            return number((times.len() >= 2).then(|| (times[1] - times[0]) * step as f64 * 1e6));
        }
        _ => {
            if let Some(rest) = name.strip_prefix("scope_") {
                let role = scope_role(rest)?;
                return Some(Value::Numbers(scope(snap, role)));
            }
            let (stem, suffix) = name.rsplit_once('_')?;
            let p = phase_letter(suffix)?;
            match stem {
                "current" => return number(current(p).map(|c| c.rms)),
                "voltage" => return number(voltage(p).map(|v| v.rms)),
                "active_power" => return number(kilo(power(p).map(|x| x.p))),
                "reactive_power" => return number(kilo(power(p).map(|x| x.q1))),
                "apparent_power" => return number(kilo(power(p).map(|x| x.s))),
                "power_factor" => Value::PowerFactor {
                    pf: power(p).and_then(|x| x.power_factor()).unwrap_or(f64::NAN),
                    q: power(p).map_or(0.0, |x| x.q1),
                },
                "displacement_pf" => Value::PowerFactor {
                    pf: power(p)
                        .and_then(|x| x.displacement_power_factor())
                        .unwrap_or(f64::NAN),
                    q: power(p).map_or(0.0, |x| x.q1),
                },
                "thd_current" => return number(thd(current(p))),
                "thd_voltage" => return number(thd(voltage(p))),
                "angle_voltage" => return number(phase(p).and_then(|x| x.voltage_angle)),
                "angle_current" => return number(phase(p).and_then(|x| x.current_angle)),
                "harmonics_voltage" => Value::Numbers(
                    voltage(p)
                        .map(|v| v.harmonics.subgroups.clone())
                        .unwrap_or_default(),
                ),
                "harmonics_current" => Value::Numbers(
                    current(p)
                        .map(|c| c.harmonics.subgroups.clone())
                        .unwrap_or_default(),
                ),
                _ => return None,
            }
        }
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
