//! The systemd service manager's notification protocol (sd_notify(3)), for `Type=notify`
//! units: `READY=1` once the store is open and every listener is bound, `WATCHDOG=1` at half
//! the unit's `WatchdogSec` while the parts of `serve` run, `STOPPING=1` on the way out. A
//! datagram to `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket); without it (not
//! under systemd) nothing is sent.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends `state` (e.g. `READY=1`) to the service manager, if there is one.
pub fn notify(state: &str) -> io::Result<()> {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let target = target.to_string_lossy().into_owned();
    let socket = UnixDatagram::unbound()?;
    match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            socket.send_to(state.as_bytes(), &target)?;
        }
    }
    Ok(())
}

/// The watchdog interval the unit asks for (`$WATCHDOG_USEC`, for this process when
/// `$WATCHDOG_PID` says so): pings are due at half of it.
pub fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
