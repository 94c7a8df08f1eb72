//! One poll of a profile as data: the values of the points wholly read,
//! and a typed error for each block that was not.

use std::collections::BTreeMap;

use chrono::{DateTime, Local};

use super::coverage::Coverage;
use super::link::LinkError;
use super::map::{Decoded, Read};
use super::value::PointValue;

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
