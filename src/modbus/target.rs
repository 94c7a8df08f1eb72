//! Where a meter is and how to talk to it, as a technician writes it:
//! `tcp://10.0.0.5?unit=3`, `rtu:///dev/ttyUSB0?baud=9600&parity=none`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Where a meter is and how to talk to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub transport: TargetTransport,
    pub unit: u8,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TargetTransport {
    Tcp {
        host: String,
        port: u16,
    },
    /// RTU framing over a TCP serial gateway.
    RtuOverTcp {
        host: String,
        port: u16,
    },
    Rtu(SerialSettings),
}

/// The parity bit of a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Parity {
    None,
    #[default]
    Even,
    Odd,
}

impl Parity {
    pub const ALL: [Parity; 3] = [Parity::None, Parity::Even, Parity::Odd];

    /// The letter of the usual `8E1` notation.
    pub fn letter(self) -> char {
        match self {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        }
    }

    /// From the letter of `8E1` (either case).
    pub fn from_letter(letter: char) -> Option<Parity> {
        match letter.to_ascii_uppercase() {
            'N' => Some(Parity::None),
            'E' => Some(Parity::Even),
            'O' => Some(Parity::Odd),
            _ => None,
        }
    }

    /// As a target URL and `--parity` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Parity::None => "none",
            Parity::Even => "even",
            Parity::Odd => "odd",
        }
    }
}

impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Parity {
    type Err = ();

    /// `none`, `even`, `odd` or their letters, in either case.
    fn from_str(text: &str) -> Result<Parity, ()> {
        match text.to_ascii_lowercase().as_str() {
            "none" | "n" => Ok(Parity::None),
            "even" | "e" => Ok(Parity::Even),
            "odd" | "o" => Ok(Parity::Odd),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    pub device: String,
    pub baud: u32,
    pub parity: Parity,
    pub stop: u8,
}

impl SerialSettings {
    /// Opens the port: 8 data bits, the parity and stop bits asked for.
    pub fn open(&self) -> std::io::Result<tokio_serial::SerialStream> {
        let parity = match self.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Odd => tokio_serial::Parity::Odd,
            Parity::Even => tokio_serial::Parity::Even,
        };
        let stop = if self.stop == 2 {
            tokio_serial::StopBits::Two
        } else {
            tokio_serial::StopBits::One
        };
        let builder = tokio_serial::new(&self.device, self.baud)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(parity)
            .stop_bits(stop);
        Ok(tokio_serial::SerialStream::open(&builder)?)
    }

    /// How the line is set, as technicians write it: `19200 8E1`.
    pub fn framing(&self) -> String {
        format!("{} 8{}{}", self.baud, self.parity.letter(), self.stop)
    }
}

const FORMS: &str = "targets look like tcp://HOST:PORT?unit=N&timeout=MS, \
     rtu:///dev/ttyUSB0?baud=19200&parity=even&stop=1&unit=1&timeout=MS, \
     or rtu+tcp://HOST:PORT?unit=N (defaults: port 502, unit 1, timeout 1000 ms, \
     19200 baud, even parity, 1 stop bit)";

/// A target text that was refused: the text, and what in it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}': {problem}{}", if self.problem.wants_forms() { format!("; {FORMS}") } else { String::new() })]
pub struct TargetError {
    pub text: String,
    pub problem: TargetProblem,
}

impl TargetError {
    /// The part of the target the problem is in: `scheme`, `host`, `port`,
    /// `device`, a setting's key (`unit`, `baud`, ...), or `query`.
    pub fn field(&self) -> &str {
        match &self.problem {
            TargetProblem::NoScheme | TargetProblem::UnknownScheme(_) => "scheme",
            TargetProblem::NotKeyValue(_) => "query",
            TargetProblem::OutOfRange { key, .. } | TargetProblem::UnknownSetting { key, .. } => {
                key
            }
            TargetProblem::Stop(_) => "stop",
            TargetProblem::Parity(_) => "parity",
            TargetProblem::NoHost => "host",
            TargetProblem::PortNotNumber(_) | TargetProblem::PortBeyond(_) => "port",
            TargetProblem::NoDevice => "device",
            TargetProblem::Broadcast { .. } => "unit",
        }
    }
}

/// What is wrong in a target text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetProblem {
    #[error("no scheme")]
    NoScheme,
    #[error("unknown scheme '{0}'")]
    UnknownScheme(String),
    #[error("'{0}' is not key=value")]
    NotKeyValue(String),
    #[error("{key}={value}: {what} from {min} to {max} is needed")]
    OutOfRange {
        key: String,
        value: String,
        what: &'static str,
        min: u64,
        max: u64,
    },
    #[error("unknown setting '{key}' for {scheme}")]
    UnknownSetting { key: String, scheme: String },
    #[error("stop={0}: 1 or 2")]
    Stop(String),
    #[error("parity={0}: none, even or odd")]
    Parity(String),
    #[error("no host")]
    NoHost,
    #[error("port '{0}' is not a number")]
    PortNotNumber(String),
    #[error("port {0} is beyond 65535")]
    PortBeyond(u64),
    #[error("no serial device")]
    NoDevice,
    #[error(
        "unit=0 is the broadcast address on {scheme}, which no device answers; give the \
         meter's unit id (1 to 247)"
    )]
    Broadcast { scheme: String },
}

impl TargetProblem {
    /// Whether the forms a target takes help: not when the form was right
    /// and only the unit is one no device answers.
    fn wants_forms(&self) -> bool {
        !matches!(self, TargetProblem::Broadcast { .. })
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        let bad = |problem: TargetProblem| TargetError {
            text: text.to_string(),
            problem,
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad(TargetProblem::NoScheme))?;
        let (place, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut unit = 1u8;
        let mut timeout = Duration::from_millis(1000);
        let mut serial = SerialSettings {
            device: place.to_string(),
            baud: 19200,
            parity: Parity::Even,
            stop: 1,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(TargetProblem::NotKeyValue(pair.to_string())))?;
            let number = |min: u64, max: u64, what: &'static str| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|v| (min..=max).contains(v))
                    .ok_or_else(|| {
                        bad(TargetProblem::OutOfRange {
                            key: key.to_string(),
                            value: value.to_string(),
                            what,
                            min,
                            max,
                        })
                    })
            };
            match key {
                "unit" => unit = number(0, 255, "a unit id")? as u8,
                "timeout" => timeout = Duration::from_millis(number(1, 600_000, "a time in ms")?),
                "baud" if scheme == "rtu" => {
                    serial.baud = number(50, 4_000_000, "a speed in baud")? as u32
                }
                "stop" if scheme == "rtu" => {
                    serial.stop = match value {
                        "1" => 1,
                        "2" => 2,
                        _ => return Err(bad(TargetProblem::Stop(value.to_string()))),
                    }
                }
                "parity" if scheme == "rtu" => {
                    serial.parity = value
                        .parse()
                        .map_err(|()| bad(TargetProblem::Parity(value.to_string())))?
                }
                other => {
                    return Err(bad(TargetProblem::UnknownSetting {
                        key: other.to_string(),
                        scheme: scheme.to_string(),
                    }));
                }
            }
        }
        let host_port = |place: &str| -> Result<(String, u16), TargetError> {
            if place.is_empty() {
                return Err(bad(TargetProblem::NoHost));
            }
            match place.rsplit_once(':') {
                Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                    let port = match port.parse::<u64>() {
                        Ok(n) => u16::try_from(n).map_err(|_| bad(TargetProblem::PortBeyond(n)))?,
                        Err(_) => return Err(bad(TargetProblem::PortNotNumber(port.to_string()))),
                    };
                    let host = host.trim_matches(['[', ']']);
                    if host.is_empty() {
                        return Err(bad(TargetProblem::NoHost));
                    }
                    Ok((host.to_string(), port))
                }
                _ => Ok((place.trim_matches(['[', ']']).to_string(), 502)),
            }
        };
        let transport = match scheme {
            "tcp" => {
                let (host, port) = host_port(place)?;
                TargetTransport::Tcp { host, port }
            }
            "rtu+tcp" => {
                let (host, port) = host_port(place)?;
                TargetTransport::RtuOverTcp { host, port }
            }
            "rtu" => {
                if serial.device.is_empty() {
                    return Err(bad(TargetProblem::NoDevice));
                }
                TargetTransport::Rtu(serial)
            }
            other => return Err(bad(TargetProblem::UnknownScheme(other.to_string()))),
        };
        // On a serial line unit 0 is a broadcast, which no device answers;
        // over TCP a directly connected device often answers it, as the
        // unit id is not needed to reach it.
        if unit == 0 && scheme != "tcp" {
            return Err(bad(TargetProblem::Broadcast {
                scheme: scheme.to_string(),
            }));
        }
        Ok(Target {
            transport,
            unit,
            timeout,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            TargetTransport::Tcp { host, port } => {
                write!(f, "tcp://{host}:{port}?unit={}", self.unit)
            }
            TargetTransport::RtuOverTcp { host, port } => {
                write!(f, "rtu+tcp://{host}:{port}?unit={}", self.unit)
            }
            TargetTransport::Rtu(s) => write!(
                f,
                "rtu://{}?baud={}&parity={}&stop={}&unit={}",
                s.device, s.baud, s.parity, s.stop, self.unit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_defaults() {
        let t: Target = "tcp://10.0.0.5".parse().unwrap();
        assert_eq!(
            t.transport,
            TargetTransport::Tcp {
                host: "10.0.0.5".into(),
                port: 502
            }
        );
        assert_eq!((t.unit, t.timeout), (1, Duration::from_millis(1000)));
        let t: Target = "tcp://localhost:5020?unit=255&timeout=250".parse().unwrap();
        assert_eq!((t.unit, t.timeout.as_millis()), (255, 250));
        let t: Target = "rtu:///dev/ttyUSB0?baud=9600&parity=none&stop=2&unit=7"
            .parse()
            .unwrap();
        assert_eq!(
            t.transport,
            TargetTransport::Rtu(SerialSettings {
                device: "/dev/ttyUSB0".into(),
                baud: 9600,
                parity: Parity::None,
                stop: 2
            })
        );
        assert_eq!(
            t.to_string(),
            "rtu:///dev/ttyUSB0?baud=9600&parity=none&stop=2&unit=7"
        );
        let t: Target = "rtu+tcp://gw:4001?unit=3".parse().unwrap();
        assert_eq!(
            t.transport,
            TargetTransport::RtuOverTcp {
                host: "gw".into(),
                port: 4001
            }
        );
        assert_eq!("tcp://x?unit=0".parse::<Target>().unwrap().unit, 0);
        for broadcast in ["rtu:///dev/ttyUSB0?unit=0", "rtu+tcp://gw:4001?unit=0"] {
            let err = broadcast.parse::<Target>().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("'{broadcast}': unit=0 is the broadcast address")),
                "{err}"
            );
        }
        for bad in [
            "10.0.0.5:502",
            "udp://x",
            "tcp://x?unit=300",
            "tcp://x?baud=9600",
            "rtu://?unit=1",
            "tcp://x:port",
        ] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(
                err.contains("targets look like tcp://HOST:PORT"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn values_out_of_range_are_refused_with_the_range() {
        for (bad, why) in [
            (
                "tcp://x?timeout=0",
                "'tcp://x?timeout=0': timeout=0: a time in ms from 1 to 600000 is needed;",
            ),
            (
                "tcp://x?timeout=600001",
                "timeout=600001: a time in ms from 1 to 600000 is needed;",
            ),
            (
                "tcp://127.0.0.1:99999",
                "'tcp://127.0.0.1:99999': port 99999 is beyond 65535;",
            ),
            (
                "rtu:///dev/ttyS0?baud=10",
                "baud=10: a speed in baud from 50 to 4000000 is needed;",
            ),
            (
                "tcp://x?unit=256",
                "unit=256: a unit id from 0 to 255 is needed;",
            ),
        ] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let t: Target = "tcp://x:65535?timeout=1".parse().unwrap();
        assert_eq!(t.timeout, Duration::from_millis(1));
    }

    #[test]
    fn a_refusal_names_the_field_and_keeps_the_text() {
        for (bad, field) in [
            ("10.0.0.5:502", "scheme"),
            ("udp://x", "scheme"),
            ("tcp://x?unit=300", "unit"),
            ("tcp://x?baud=9600", "baud"),
            ("rtu://?unit=1", "device"),
            ("tcp://x:port", "port"),
            ("tcp://:502", "host"),
            ("rtu:///dev/ttyS0?parity=mark", "parity"),
            ("rtu:///dev/ttyS0?unit=0", "unit"),
        ] {
            let err = bad.parse::<Target>().unwrap_err();
            assert_eq!((err.field(), err.text.as_str()), (field, bad));
        }
        let err = "rtu:///dev/ttyS0?parity=mark"
            .parse::<Target>()
            .unwrap_err();
        assert_eq!(err.problem, TargetProblem::Parity("mark".into()));
        assert!(
            !"rtu:///dev/ttyS0?unit=0"
                .parse::<Target>()
                .unwrap_err()
                .to_string()
                .contains("targets look like")
        );
    }

    #[test]
    fn parity_reads_its_names_and_letters() {
        for p in Parity::ALL {
            assert_eq!(p.name().parse::<Parity>(), Ok(p));
            assert_eq!(Parity::from_letter(p.letter()), Some(p));
        }
        assert_eq!("E".parse::<Parity>(), Ok(Parity::Even));
        assert_eq!(Parity::from_letter('x'), None);
    }
}
