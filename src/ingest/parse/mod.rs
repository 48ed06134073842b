//! Pure log parsers: one line in, at most one event out. No I/O, no clock.
