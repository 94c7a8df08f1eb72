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
    let failed_points = failed_points(map, &values, &errors);
    Ok(ProfilePoll {
        time,
        values,
        errors,
        coverage,
        failed_points,
    })
}

/// The profile's points not read, each with the index in `errors` of the
/// block error that cost it its registers: the failed block they lie in,
/// or, past a link found down, the error that stopped the poll.
fn failed_points(
    map: &RegisterMap,
    values: &BTreeMap<String, Decoded>,
    errors: &[BlockError],
) -> BTreeMap<String, usize> {
    let stopped = errors.iter().rposition(|e| e.not_asked > 0);
    map.points
        .iter()
        .filter(|point| !values.contains_key(&point.name))
        .filter_map(|point| {
            let (start, end) = (u32::from(point.register), point.end());
            let block = errors.iter().position(|e| {
                let from = u32::from(e.read.register);
                from < end && start < from + u32::from(e.read.count)
            });
            Some((point.name.clone(), block.or(stopped)?))
        })
        .collect()
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
    /// Points of the profile whose registers were not read, each with the
    /// index in `errors` of the block error that cost them: told apart on
    /// screen from points the profile does not have.
    pub failed_points: BTreeMap<String, usize>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every block as zeros except `failing`, which gets `error`.
    struct FailingOne {
        failing: Read,
        error: LinkError,
    }

    impl BlockReader for FailingOne {
        async fn read_block(&mut self, block: Read) -> Result<Vec<u16>, LinkError> {
            if block == self.failing {
                Err(self.error.clone())
            } else {
                Ok(vec![0; usize::from(block.count)])
            }
        }
    }

    fn poll_with(error: LinkError, k: usize) -> (RegisterMap, Read, ProfilePoll) {
        let map = RegisterMap::load("meter-core").expect("built in");
        let failing = map.reads()[k];
        let mut reader = FailingOne { failing, error };
        let poll = futures::executor::block_on(poll_map(&map, &mut reader, |_| {
            Ok::<(), std::convert::Infallible>(())
        }))
        .unwrap_or_else(|never| match never {});
        (map, failing, poll)
    }

    fn inside(map: &RegisterMap, name: &str, block: Read) -> bool {
        map.points.iter().any(|p| {
            p.name == name
                && u32::from(p.register) < u32::from(block.register) + u32::from(block.count)
                && u32::from(block.register) < p.end()
        })
    }

    #[test]
    fn the_points_of_a_failed_block_are_told_with_its_error() {
        let error = LinkError::Exception {
            target: "tcp://127.0.0.1:5020?unit=1".into(),
            code: 2,
            name: "illegal data address",
            registers: "3000..3079".into(),
        };
        let (map, failing, poll) = poll_with(error, 0);
        assert_eq!(poll.errors.len(), 1);
        assert!(!poll.failed_points.is_empty());
        for point in &map.points {
            let in_block = inside(&map, &point.name, failing);
            assert_eq!(
                poll.failed_points.get(&point.name),
                in_block.then_some(&0),
                "{}",
                point.name
            );
            assert_eq!(poll.values.contains_key(&point.name), !in_block);
        }
    }

    #[test]
    fn past_a_link_found_down_every_point_not_read_has_the_error() {
        let error = LinkError::Io {
            target: "tcp://127.0.0.1:5020?unit=1".into(),
            reason: "broken pipe".into(),
        };
        let (map, _, poll) = poll_with(error, 1);
        assert!(poll.errors[0].not_asked > 0);
        for point in &map.points {
            let read = poll.values.contains_key(&point.name);
            assert_eq!(poll.failed_points.contains_key(&point.name), !read);
        }
        assert!(poll.values.len() < map.points.len());
    }
}
