//! How much of a register map a poll, or a run of polls, read: what
//! `poll` and `monitor` report and what their exit status says.

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
