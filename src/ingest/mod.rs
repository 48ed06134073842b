//! Sources of log lines and the pipeline that turns them into stored events: followed files
//! with their rotations (`follow`), one-shot imports (`import`), the syslog receiver
//! (`syslog`) and the login hook (`hook`). Every source hands lines to a `Pipeline` and batches
//! to the shared `Writer`, which commits them with the source position.

pub mod correlate;
pub mod files;
pub mod follow;
pub mod hook;
pub mod import;
pub mod parse;
pub mod pipeline;
pub mod syslog;
pub mod writer;
