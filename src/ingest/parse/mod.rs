//! Pure log parsers: one line in, at most one event out. No I/O, no clock.
//! (Placeholder API; the parsers land separately.)

use crate::domain::{Epoch, Event};

pub enum Parsed {
    Event(Event),
    Unrelated,
    Malformed,
}

pub struct LineParser {
    _tz: chrono_tz::Tz,
    _now: Epoch,
}

impl LineParser {
    pub fn new(tz: chrono_tz::Tz, now: Epoch) -> Self {
        LineParser { _tz: tz, _now: now }
    }
    pub fn set_now(&mut self, now: Epoch) {
        self._now = now;
    }
    pub fn parse(&mut self, _line: &[u8]) -> Parsed {
        Parsed::Malformed
    }
}
