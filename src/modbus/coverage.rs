//! One poll of a register map over a link, and how much of it was read:
//! what `poll` and `monitor` report and what their exit status says.

use std::collections::HashMap;

use super::link::{Link, LinkError, Table};
use super::map::Read;

/// Exit status when every block of every poll was read.
pub const EXIT_ALL_READ: u8 = 0;
/// Exit status when no block was read (no answer, or only exceptions), or
/// the run stopped before its first poll was done.
pub const EXIT_NOTHING_READ: u8 = 3;
/// Exit status when some blocks were read and others not.
pub const EXIT_PARTLY_READ: u8 = 4;

/// Blocks asked and blocks read, over one poll or a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub asked: u64,
    pub read: u64,
}

impl Coverage {
    pub fn add(&mut self, other: Coverage) {
        self.asked += other.asked;
        self.read += other.read;
    }

    /// 0 when all was read, 3 when nothing was (or nothing was asked), 4
    /// in between.
    pub fn exit_status(&self) -> u8 {
        if self.asked > 0 && self.read == self.asked {
            EXIT_ALL_READ
        } else if self.read == 0 {
            EXIT_NOTHING_READ
        } else {
            EXIT_PARTLY_READ
        }
    }
}

/// What one poll of a map gave.
#[derive(Debug, Default)]
pub struct PollOutcome {
    /// Words read, by register number (1-based).
    pub registers: HashMap<u32, u16>,
    /// One line per block that failed; a link that went down gives one
    /// line for the rest of the poll.
    pub errors: Vec<String>,
    pub coverage: Coverage,
}

/// Reads every block in turn, stopping at the first error that says the
/// link is down (nothing listens, the unit is silent or absent), so a dead
/// meter costs one timeout per poll rather than one per block. `after`
/// sees the link and the error (if any) after each block asked.
pub async fn poll_blocks<E>(
    link: &mut Link,
    reads: &[Read],
    mut after: impl FnMut(&mut Link, Option<&str>) -> Result<(), E>,
) -> Result<PollOutcome, E> {
    let mut outcome = PollOutcome {
        coverage: Coverage {
            asked: reads.len() as u64,
            read: 0,
        },
        ..PollOutcome::default()
    };
    for (k, read) in reads.iter().enumerate() {
        let result = link
            .read(Table::Holding, read.register.saturating_sub(1), read.count)
            .await;
        match result {
            Ok(words) => {
                outcome.coverage.read += 1;
                for (offset, word) in words.iter().enumerate() {
                    outcome
                        .registers
                        .insert(read.register as u32 + offset as u32, *word);
                }
                after(link, None)?;
            }
            Err(error) => {
                let line = describe(&error, reads.len() - k - 1);
                after(link, Some(&line))?;
                outcome.errors.push(line);
                if error.link_is_down() {
                    break;
                }
            }
        }
    }
    Ok(outcome)
}

fn describe(error: &LinkError, left: usize) -> String {
    match left {
        _ if !error.link_is_down() => error.to_string(),
        0 => error.to_string(),
        1 => format!("{error}; 1 more block of this poll not asked"),
        n => format!("{error}; {n} more blocks of this poll not asked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_says_how_much_was_read() {
        let mut run = Coverage::default();
        // Stopped before the first poll was done: nothing was read.
        assert_eq!(run.exit_status(), EXIT_NOTHING_READ);
        run.add(Coverage { asked: 9, read: 9 });
        assert_eq!(run.exit_status(), EXIT_ALL_READ);
        run.add(Coverage { asked: 9, read: 0 });
        assert_eq!(run.exit_status(), EXIT_PARTLY_READ);
        let none = Coverage { asked: 9, read: 0 };
        assert_eq!(none.exit_status(), EXIT_NOTHING_READ);
    }
}
