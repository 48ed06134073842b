//! Sources of log lines and the pipeline that turns them into stored events.

pub mod parse;
