//! A per-client budget of requests held in memory, for pages anyone may ask that cost the
//! store something. It knows nothing of HTTP: callers turn a spent budget into their 429.

/// A per-client budget of requests in memory: at most `per_minute` in each minute per client
/// (`throttle_key`), for pages anyone may ask that cost the store something (`/why/CODE`). A
/// guesser is told to wait; nobody's answer waits for the store to count.
pub struct Budget {
    per_minute: u32,
    counts: std::sync::Mutex<(i64, std::collections::HashMap<String, u32>)>,
}

/// Clients remembered in one minute, at most: past this the minute's counts start afresh, so
/// a flood of addresses cannot make the map grow without end.
const BUDGET_CLIENTS: usize = 100_000;

impl Budget {
    pub fn new(per_minute: u32) -> Budget {
        Budget {
            per_minute,
            counts: std::sync::Mutex::default(),
        }
    }

    /// Takes one request for `client` at `now`; when its budget is spent, the seconds left in
    /// the minute (a 429 for the caller to send).
    pub fn take(&self, client: &str, now: i64) -> Result<(), u64> {
        let minute = now.div_euclid(60);
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (current, counts) = &mut *guard;
        if *current != minute || counts.len() >= BUDGET_CLIENTS {
            *current = minute;
            counts.clear();
        }
        let used = counts.entry(client.to_string()).or_default();
        if *used >= self.per_minute {
            return Err((60 - now.rem_euclid(60)).max(1) as u64);
        }
        *used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_minute() {
        let budget = Budget::new(2);
        assert!(budget.take("a", 60).is_ok());
        assert!(budget.take("a", 61).is_ok());
        assert_eq!(budget.take("a", 62), Err(58));
        assert!(budget.take("b", 62).is_ok());
        assert!(budget.take("a", 120).is_ok(), "a new minute");
    }
}
