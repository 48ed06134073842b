//! Installed like a Debian daemon: `serve` speaks systemd's notification protocol for a
//! `Type=notify` unit (READY once its listeners accept, WATCHDOG while it runs, STOPPING on
//! SIGTERM), and the unit and package files say what the README promises.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::helpers::{binary, free_port, run};

#[test]
fn serve_tells_systemd_it_is_ready_alive_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.path().join("relaydesk.db").display(),
        ),
    )
    .unwrap();
    let out = run(dir.path(), &["--config", "relaydesk.toml", "migrate"], b"");
    assert!(out.status.success(), "{out:?}");
    let socket_path = dir.path().join("notify.sock");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = std::process::Command::new(binary())
        .args(["--config", "relaydesk.toml", "serve", "--only", "web"])
        .current_dir(dir.path())
        .env_remove("RELAYDESK_DATABASE_URL")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "600000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut next = || {
        let n = manager.recv(&mut buf).expect("a notification from serve");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1");
    // Ready means ready: the web listener accepts at once.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    // Pinged at half the watchdog interval: several within two seconds.
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(2) {
        if next() == "WATCHDOG=1" {
            pings += 1;
        }
    }
    assert!(pings >= 3, "{pings} watchdog pings in 2 s at 0.3 s");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = (0..20).map(|_| next()).find(|m| m != "WATCHDOG=1");
    assert_eq!(stopping.as_deref(), Some("STOPPING=1"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The unit is what the README says: notify with a watchdog, sandboxed, no capabilities; and
/// every file the package metadata names is in the tree.
#[test]
fn the_unit_and_the_package_metadata_hold_what_the_readme_promises() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("contrib/relaydesk.service")).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=30",
        "ExecStart=/usr/bin/relaydesk --config /etc/relaydesk/relaydesk.toml serve",
        "StateDirectory=relaydesk",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "UMask=0077",
        "ReadOnlyPaths=/var/log",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    let cargo: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let deb = &cargo["package"]["metadata"]["deb"];
    for asset in deb["assets"].as_array().unwrap() {
        let source = asset[0].as_str().unwrap();
        if source.starts_with("target/") {
            continue;
        }
        assert!(
            root.join(source).is_file(),
            "the package names {source}, which is missing"
        );
    }
    assert_eq!(
        deb["conf-files"][0].as_str(),
        Some("/etc/relaydesk/relaydesk.toml")
    );
    let scripts = deb["maintainer-scripts"].as_str().unwrap();
    for script in ["postinst", "postrm"] {
        let text = std::fs::read_to_string(root.join(scripts).join(script)).unwrap();
        assert!(text.contains("#DEBHELPER#"), "{script} has no #DEBHELPER#");
    }
    let postinst = std::fs::read_to_string(root.join(scripts).join("postinst")).unwrap();
    assert!(
        postinst.contains("relaydesk.toml migrate") && postinst.contains("relaydesk.toml check")
    );
    // systemd's own verifier, with the binary where the unit says.
    let present = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if crate::helpers::available("systemd-analyze", present, "apt install systemd") {
        let dir = tempfile::tempdir().unwrap();
        let bin = crate::helpers::binary();
        let local = unit.replace("/usr/bin/relaydesk", &bin.display().to_string());
        let path = dir.path().join("relaydesk.service");
        std::fs::write(&path, local).unwrap();
        let out = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        let problems: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("relaydesk.service"))
            .collect();
        assert!(problems.is_empty(), "systemd-analyze verify: {said}");
        // systemd's own exposure rating of the sandbox, as the README states it (1.7 of 10).
        let out = std::process::Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        let level: f64 = said
            .lines()
            .find_map(|l| {
                l.split("Overall exposure level for relaydesk.service: ")
                    .nth(1)
            })
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in: {said}"));
        assert!(level <= 2.5, "exposure level {level} > 2.5:\n{said}");
    }
}

/// The Debian package as `cargo deb` builds it from this tree (of the test build's binary):
/// its files, conffile and maintainer scripts; and, as root, installed with dpkg — the user,
/// the state directory and a migrated store made — then purged without a trace.
#[test]
fn the_debian_package_installs_and_purges() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let present = std::process::Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !crate::helpers::available(
        "cargo-deb",
        present,
        "cargo install cargo-deb (scripts/test-all does)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let build = |revision: &str, name: &str| {
        let deb = dir.path().join(name);
        let out = std::process::Command::new("cargo")
            .args(["deb", "--no-build", "--profile", "dev", "--fast"])
            .args(["--deb-revision", revision, "-o"])
            .arg(&deb)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo deb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        deb
    };
    let deb = build("1", "relaydesk.deb");
    // The next revision of the same package, for the upgrade below.
    let next = build("2", "relaydesk-next.deb");
    let dpkg_deb = |args: &[&str]| {
        let out = std::process::Command::new("dpkg-deb")
            .args(args)
            .arg(&deb)
            .output()
            .expect("dpkg-deb");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let files = dpkg_deb(&["-c"]);
    for path in [
        "./usr/bin/relaydesk",
        "./etc/relaydesk/relaydesk.toml",
        "./usr/lib/sysusers.d/relaydesk.conf",
        "./usr/lib/systemd/system/relaydesk.service",
        "./usr/share/doc/relaydesk/examples/relaydesk.rules.yml",
    ] {
        assert!(
            files.lines().any(|l| l.ends_with(path)),
            "{path} not in the package:\n{files}"
        );
    }
    let conffiles = dpkg_deb(&["-f"]);
    assert!(conffiles.contains("Package: relaydesk"), "{conffiles}");
    let control = dir.path().join("control");
    let out = std::process::Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(&control)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles"))
            .unwrap()
            .trim(),
        "/etc/relaydesk/relaydesk.toml"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(
        postinst.contains("deb-systemd-helper") || postinst.contains("systemctl"),
        "{postinst}"
    );

    // Debian's own package checker: no errors (warnings are allowed: there is no manual page;
    // `relaydesk --help` and the README are the documentation).
    let present = std::process::Command::new("lintian")
        .arg("--version")
        .output()
        .is_ok();
    if crate::helpers::available("lintian", present, "apt install lintian") {
        let out = std::process::Command::new("lintian")
            .args(["--fail-on", "error", "--tag-display-limit", "0"])
            .arg(&deb)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !said.lines().any(|l| l.starts_with("E: ")),
            "lintian: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // As root: really installed, then purged.
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("not root: the package's install and purge were not tried");
        return;
    }
    let dpkg = |args: &[&str]| {
        std::process::Command::new("dpkg")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("dpkg")
    };
    let installed = dpkg(&["-i", deb.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&installed.stderr).into_owned()
        + &String::from_utf8_lossy(&installed.stdout);
    let user = std::process::Command::new("id")
        .arg("relaydesk")
        .output()
        .unwrap();
    let store = std::path::Path::new("/var/lib/relaydesk/relaydesk.db");
    // The installed binary's own check, as the README's setup steps run it: as the relaydesk
    // user it reads the 0640 configuration and the store; on this machine it may list problems
    // (no /var/log/mail.log, say), each naming its file and key, and a count.
    let check = std::process::Command::new("runuser")
        .args(["-u", "relaydesk", "--", "/usr/bin/relaydesk"])
        .args(["--config", "/etc/relaydesk/relaydesk.toml", "check"])
        .current_dir("/var/lib/relaydesk")
        .output();
    // An upgrade keeps the operator's edits to the configuration (a conffile) and the store.
    let conf = std::path::Path::new("/etc/relaydesk/relaydesk.toml");
    let edited = std::fs::read_to_string(conf).unwrap_or_default() + "\n# edited by the operator\n";
    let _ = std::fs::write(conf, &edited);
    let upgraded = dpkg(&["-i", next.to_str().unwrap()]);
    let upgrade = (
        upgraded.status.success(),
        std::fs::read_to_string(conf).unwrap_or_default() == edited,
        store.exists(),
    );
    let upgrade_said = String::from_utf8_lossy(&upgraded.stderr).into_owned();
    let result = (
        installed.status.success(),
        user.status.success(),
        store.exists(),
    );
    let purged = dpkg(&["--purge", "relaydesk"]);
    assert_eq!(upgrade, (true, true, true), "upgrade: {upgrade_said}");
    assert_eq!(result, (true, true, true), "dpkg -i: {said}");
    let check = check.expect("runuser");
    let check_said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    match check.status.code() {
        Some(0) => {}
        Some(1) => {
            let problems = check_said.lines().filter(|l| !l.starts_with("relaydesk: "));
            let count = check_said.lines().find_map(|l| {
                let n = l.strip_prefix("relaydesk: ")?;
                n.strip_suffix(" problems")
                    .or(n.strip_suffix(" problem"))?
                    .parse::<usize>()
                    .ok()
            });
            assert_eq!(
                count,
                Some(problems.clone().count()),
                "relaydesk check: {check_said}"
            );
            for line in problems {
                assert!(line.contains(": "), "a problem without its place: {line}");
            }
        }
        _ => panic!("relaydesk check: {check_said}"),
    }
    assert!(
        !check_said.contains("relaydesk.toml: cannot read")
            && !check_said.contains("the store")
            && !check_said.contains("its schema"),
        "the installed relaydesk cannot read its configuration or store: {check_said}"
    );
    assert!(
        purged.status.success(),
        "{}",
        String::from_utf8_lossy(&purged.stderr)
    );
    assert!(
        !std::path::Path::new("/var/lib/relaydesk").exists(),
        "purge removes the store"
    );
    assert!(!std::path::Path::new("/etc/relaydesk/relaydesk.toml").exists());
    assert!(
        !std::process::Command::new("id")
            .arg("relaydesk")
            .output()
            .unwrap()
            .status
            .success()
    );
}
