//! One poll of a profile as data: the values of the points wholly read,
//! and a typed error for each block that was not.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use chrono::{DateTime, Local};

use super::coverage::Coverage;
use super::link::{LinkError, Table, Target};
use super::map::{Decoded, Read, RegisterMap};
use super::value::PointValue;

/// Reads every block of `map` in turn through `read`, stopping at the
/// first error that says the link is down (nothing listens, the unit is
/// silent or absent), so a dead meter costs one timeout per poll rather
/// than one per block. `after` sees each block's error, or `None` when it
/// was read, as soon as the block is done (a monitor prints the frames
/// of each block before its error).
pub async fn poll_map<E>(
    map: &RegisterMap,
    reader: &mut impl BlockReader,
    mut after: impl FnMut(Option<&BlockError>) -> Result<(), E>,
) -> Result<ProfilePoll, E> {
    let time = Local::now();
    let reads = map.reads();
    let mut coverage = Coverage {
        asked: reads.len() as u64,
        read: 0,
    };
    let mut registers: HashMap<u32, u16> = HashMap::new();
    let mut errors = Vec::new();
    for (k, block) in reads.iter().enumerate() {
        match reader.read_block(*block).await {
            Ok(words) => {
                coverage.read += 1;
                for (offset, word) in words.iter().enumerate() {
                    registers.insert(block.register as u32 + offset as u32, *word);
                }
                after(None)?;
            }
            Err(error) => {
                let down = error.link_is_down();
                let failed = BlockError {
                    read: *block,
                    not_asked: if down { reads.len() - k - 1 } else { 0 },
                    error,
                };
                after(Some(&failed))?;
                errors.push(failed);
                if down {
                    break;
                }
            }
        }
    }
    let mut values = BTreeMap::new();
    for point in &map.points {
        let words: Option<Vec<u16>> = (point.register as u32..point.end())
            .map(|r| registers.get(&r).copied())
            .collect();
        if let Some(words) = words {
            values.insert(point.name.clone(), point.decode(&words));
        }
    }
    Ok(ProfilePoll {
        time,
        values,
        errors,
        coverage,
    })
}

/// Whatever reads a block for a poll: the link actor's own link, or a
/// handle to it.
pub trait BlockReader {
    fn read_block(
        &mut self,
        block: Read,
    ) -> impl Future<Output = Result<Vec<u16>, LinkError>> + Send;
}

/// One line at most for the reconnections since the last poll, however
/// many blocks connected again (after mismatched answers, each does).
pub fn reconnect_note(target: &Target, reconnects: u64) -> Option<String> {
    match reconnects {
        0 => None,
        1 => Some(format!("{target}: connected again")),
        n => Some(format!("{target}: connected again ({n} times)")),
    }
}

/// The request for one block: holding registers, from the block's first
/// register number (1-based) as a PDU address.
pub fn block_request(block: Read) -> (Table, u16, u16) {
    (
        Table::Holding,
        block.register.saturating_sub(1),
        block.count,
    )
}

/// What one poll of a profile gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePoll {
    /// When the poll began, on this computer's clock.
    pub time: DateTime<Local>,
    /// Points wholly read, by name.
    pub values: BTreeMap<String, Decoded>,
    pub errors: Vec<BlockError>,
    pub coverage: Coverage,
}

/// A block of a poll that got no registers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}{}", not_asked_text(*not_asked))]
pub struct BlockError {
    pub read: Read,
    pub error: LinkError,
    /// Blocks after this one not asked, because the link is down.
    pub not_asked: usize,
}

fn not_asked_text(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 more block of this poll not asked".into(),
        n => format!("; {n} more blocks of this poll not asked"),
    }
}

impl ProfilePoll {
    pub fn value(&self, name: &str) -> Option<&Decoded> {
        self.values.get(name)
    }

    /// A single numeric point; `None` when absent, missing or not a number.
    pub fn number(&self, name: &str) -> Option<f64> {
        match self.values.get(name)? {
            Decoded::One(PointValue::Number(n)) => Some(*n),
            Decoded::One(PointValue::Integer(n)) => Some(*n as f64),
            _ => None,
        }
    }

    /// An array point as numbers, a missing element as NaN.
    pub fn numbers(&self, name: &str) -> Option<Vec<f64>> {
        match self.values.get(name)? {
            Decoded::Many(values) => Some(
                values
                    .iter()
                    .map(|v| match v {
                        PointValue::Number(n) => *n,
                        PointValue::Integer(n) => *n as f64,
                        _ => f64::NAN,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            Decoded::One(PointValue::Text(t)) => Some(t),
            _ => None,
        }
    }
}
