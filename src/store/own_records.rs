//! What a signed-in customer may see of their own records (`/me`) that the shared store
//! functions do not give directly: their newest relay rejections, by the senders they own.

use super::rejections::StoredRejection;
use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// The newest relay rejections in [since, until] whose envelope sender is one of `senders`
/// (exactly, so the `rejections_sender_kind` index serves it), newest first, at most `limit`.
pub async fn latest_rejections(
    conn: &mut Conn,
    senders: &[String],
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    if senders.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = vec![Value::Int(since), Value::Int(until)];
    let mut wanted = Vec::new();
    for s in senders {
        params.push(s.as_str().into());
        wanted.push(format!("${}", params.len()));
    }
    params.push(Value::Int(limit));
    // Placeholders in order of first appearance, as both backends take them.
    let sql = format!(
        "select id, at, kind, ip, sender, rcpt, reply from rejections
         where kind = 'relay' and at >= $1 and at <= $2 and sender in ({})
         order by at desc, id desc limit ${}",
        wanted.join(", "),
        params.len()
    );
    conn.fetch_all(&sql, &params).await
}
