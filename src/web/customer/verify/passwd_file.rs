//! Dovecot passwd-file checks: `user:{SCHEME}hash:uid:gid:…` lines, read at each check (the
//! file is small and Dovecot's own tools rewrite it in place). Schemes: `PLAIN` (`CLEARTEXT`),
//! `SHA`, `SSHA`, `SHA256`, `SSHA256`, `SHA512`, `SSHA512` (base64, or `.HEX` / `.b64`), and
//! `SHA256-CRYPT` / `SHA512-CRYPT` (also a bare `$5$…` / `$6$…`), with the `sha1`/`sha2` crates
//! already in the build. Any other scheme makes the check unavailable (logged), never a pass.

use std::path::Path;

use sha2::Digest;

use super::Verdict;
use crate::secrets::same_secret;

pub fn check(path: &Path, login: &str, password: &str) -> Verdict {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Verdict::Unavailable(format!("passwd-file {}: {e}", path.display())),
    };
    match lookup(&text, login) {
        Some(stored) => matches(stored, password),
        None => Verdict::Rejected,
    }
}

/// The password field of `login`'s line: an exact match first, else one that differs in case.
pub fn lookup<'a>(text: &'a str, login: &str) -> Option<&'a str> {
    let entries = || {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut fields = l.splitn(3, ':');
                Some((fields.next()?, fields.next()?))
            })
    };
    entries()
        .find(|(user, _)| *user == login)
        .or_else(|| entries().find(|(user, _)| user.eq_ignore_ascii_case(login)))
        .map(|(_, password)| password)
}

/// Whether `password` matches the stored field `{SCHEME}hash`.
pub fn matches(stored: &str, password: &str) -> Verdict {
    let (scheme, hash) = match stored.strip_prefix('{').and_then(|s| s.split_once('}')) {
        Some((scheme, hash)) => (scheme.to_ascii_uppercase(), hash),
        None if stored.starts_with("$5$") || stored.starts_with("$6$") => {
            ("CRYPT".to_string(), stored)
        }
        None => return Verdict::Unavailable("passwd-file entry without a {SCHEME}".into()),
    };
    let (name, encoding) = match scheme.split_once('.') {
        Some((name, enc)) => (name, Some(enc)),
        None => (scheme.as_str(), None),
    };
    let decode = |text: &str| match encoding {
        Some("HEX") => hex_decode(text),
        Some("B64") | None => base64_decode(text),
        Some(_) => None,
    };
    let ok = match name {
        "PLAIN" | "CLEARTEXT" => match encoding {
            None => Some(same_secret(hash, password)),
            Some("B64") => base64_decode(hash).map(|p| same_bytes(&p, password.as_bytes())),
            _ => None,
        },
        "SHA" => decode(hash).map(|d| salted::<sha1::Sha1>(&d, 20, password, false)),
        "SSHA" => decode(hash).map(|d| salted::<sha1::Sha1>(&d, 20, password, true)),
        "SHA256" => decode(hash).map(|d| salted::<sha2::Sha256>(&d, 32, password, false)),
        "SSHA256" => decode(hash).map(|d| salted::<sha2::Sha256>(&d, 32, password, true)),
        "SHA512" => decode(hash).map(|d| salted::<sha2::Sha512>(&d, 64, password, false)),
        "SSHA512" => decode(hash).map(|d| salted::<sha2::Sha512>(&d, 64, password, true)),
        "SHA256-CRYPT" | "SHA512-CRYPT" | "CRYPT" => {
            sha_crypt(hash, password).map(|computed| same_secret(&computed, hash))
        }
        _ => None,
    };
    match ok {
        Some(true) => Verdict::Accepted,
        Some(false) => Verdict::Rejected,
        None => Verdict::Unavailable(format!("passwd-file scheme {{{scheme}}} is not supported")),
    }
}

/// `digest(password ‖ salt) ‖ salt` (salted) or `digest(password)` against `decoded`.
fn salted<D: Digest>(decoded: &[u8], size: usize, password: &str, with_salt: bool) -> bool {
    if decoded.len() < size || (!with_salt && decoded.len() != size) {
        return false;
    }
    let (expected, salt) = decoded.split_at(size);
    let mut d = D::new();
    d.update(password.as_bytes());
    d.update(salt);
    same_bytes(&d.finalize(), expected)
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Standard base64 (with or without `=` padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-crypt (`$5$` SHA-256, `$6$` SHA-512, Drepper's specification): the whole `$n$[rounds=N$]
/// salt$hash` string for `password` with the setting taken from `stored`.
pub fn sha_crypt(stored: &str, password: &str) -> Option<String> {
    let rest = stored.strip_prefix('$')?;
    let (id, rest) = rest.split_once('$')?;
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let (n, rest) = r.split_once('$')?;
            (Some(n.parse::<u64>().ok()?.clamp(1000, 999_999_999)), rest)
        }
        None => (None, rest),
    };
    let salt = rest.split('$').next()?;
    let salt = &salt.as_bytes()[..salt.len().min(16)];
    let (hash, order): (Vec<u8>, &[u8]) = match id {
        "5" => (
            crypt_rounds::<sha2::Sha256>(password.as_bytes(), salt, rounds.unwrap_or(5000)),
            &ORDER_256,
        ),
        "6" => (
            crypt_rounds::<sha2::Sha512>(password.as_bytes(), salt, rounds.unwrap_or(5000)),
            &ORDER_512,
        ),
        _ => return None,
    };
    let mut out = format!("${id}$");
    if let Some(r) = rounds {
        out.push_str(&format!("rounds={r}$"));
    }
    out.push_str(std::str::from_utf8(salt).ok()?);
    out.push('$');
    for group in order.chunks(3) {
        let (n, w) = match group {
            [a, b, c] => (
                4,
                (u32::from(hash[*a as usize]) << 16)
                    | (u32::from(hash[*b as usize]) << 8)
                    | u32::from(hash[*c as usize]),
            ),
            // The tail: one byte (SHA-512) or two (SHA-256).
            [a, b] => (
                3,
                (u32::from(hash[*a as usize]) << 8) | u32::from(hash[*b as usize]),
            ),
            [a] => (2, u32::from(hash[*a as usize])),
            _ => unreachable!("chunks of at most three"),
        };
        let mut w = w;
        for _ in 0..n {
            out.push(CRYPT64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    }
    Some(out)
}

/// The byte order of SHA-crypt's output encoding, three bytes a group.
const ORDER_256: [u8; 32] = [
    0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28,
    8, 9, 19, 29, 31, 30,
];
const ORDER_512: [u8; 64] = [
    0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8,
    29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58,
    16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, 63,
];

fn crypt_rounds<D: Digest>(p: &[u8], s: &[u8], rounds: u64) -> Vec<u8> {
    let size = <D as Digest>::output_size();
    let b = D::new()
        .chain_update(p)
        .chain_update(s)
        .chain_update(p)
        .finalize();
    let mut a = D::new().chain_update(p).chain_update(s);
    let mut left = p.len();
    while left > size {
        a.update(&b);
        left -= size;
    }
    a.update(&b[..left]);
    let mut bits = p.len();
    while bits > 0 {
        if bits & 1 == 1 {
            a.update(&b);
        } else {
            a.update(p);
        }
        bits >>= 1;
    }
    let a = a.finalize();
    let mut dp = D::new();
    for _ in 0..p.len() {
        dp.update(p);
    }
    let p_seq = repeat_to(&dp.finalize(), p.len());
    let mut ds = D::new();
    for _ in 0..16 + usize::from(a[0]) {
        ds.update(s);
    }
    let s_seq = repeat_to(&ds.finalize(), s.len());
    let mut c = a.to_vec();
    for i in 0..rounds {
        let mut d = D::new();
        if i % 2 == 1 {
            d.update(&p_seq);
        } else {
            d.update(&c);
        }
        if i % 3 != 0 {
            d.update(&s_seq);
        }
        if i % 7 != 0 {
            d.update(&p_seq);
        }
        if i % 2 == 1 {
            d.update(&c);
        } else {
            d.update(&p_seq);
        }
        c = d.finalize().to_vec();
    }
    c
}

fn repeat_to(block: &[u8], len: usize) -> Vec<u8> {
    block.iter().copied().cycle().take(len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_crypt_matches_the_reference_vectors() {
        for (stored, password) in [
            (
                "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
                "Hello world!",
            ),
            (
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
                "Hello world!",
            ),
            (
                "$6$rounds=1000$abcdefgh$nhYjN017qxiYztzyUpZtPnUQcnLy62KsunSLHNeLahp2EHPlAKmFFlrjEwSXGo2kgY5hR2.peKEg2VGUqIJJu1",
                "secret",
            ),
            (
                "$5$rounds=1234$0123456789abcdef$WFGgNLm9HlZLMzwu4yQ3xtq1jOmuuHGfksS7JLAzG46",
                "パスワード",
            ),
        ] {
            assert_eq!(sha_crypt(stored, password).as_deref(), Some(stored));
            assert_eq!(
                matches(&format!("{{SHA512-CRYPT}}{stored}"), password),
                Verdict::Accepted
            );
            assert_eq!(matches(stored, "wrong"), Verdict::Rejected);
        }
    }

    #[test]
    fn digest_schemes_check_their_encodings() {
        // SHA256("secret") and SSHA256 with salt "salt", as `doveadm pw` writes them.
        let sha = sha2::Sha256::digest(b"secret");
        let mut ssha = sha2::Sha256::new();
        ssha.update(b"secretsalt");
        let mut salted_bytes = ssha.finalize().to_vec();
        salted_bytes.extend_from_slice(b"salt");
        let hexed: String = crate::secrets::hex(&sha);
        assert_eq!(
            matches(&format!("{{SHA256.HEX}}{hexed}"), "secret"),
            Verdict::Accepted
        );
        assert_eq!(
            matches(&format!("{{SHA256.HEX}}{hexed}"), "Secret"),
            Verdict::Rejected
        );
        let b64 = encode64(&salted_bytes);
        assert_eq!(
            matches(&format!("{{SSHA256}}{b64}"), "secret"),
            Verdict::Accepted
        );
        assert_eq!(
            matches(&format!("{{SSHA256}}{b64}"), "x"),
            Verdict::Rejected
        );
        assert_eq!(matches("{PLAIN}secret", "secret"), Verdict::Accepted);
        assert_eq!(matches("{PLAIN}secret", "secret2"), Verdict::Rejected);
        assert_eq!(matches("{PLAIN.b64}c2VjcmV0", "secret"), Verdict::Accepted);
        assert!(matches!(
            matches("{BLF-CRYPT}$2y$05$abc", "secret"),
            Verdict::Unavailable(_)
        ));
    }

    #[test]
    fn passwd_file_lines_are_found_by_user() {
        let text = "# users\ntaro:{PLAIN}secret:8:8::/home/taro\nHanako:{PLAIN}pw:::\n\n";
        assert_eq!(lookup(text, "taro"), Some("{PLAIN}secret"));
        assert_eq!(lookup(text, "hanako"), Some("{PLAIN}pw"));
        assert_eq!(lookup(text, "jiro"), None);
        assert_eq!(lookup(text, "# users"), None);
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0xff, 0x00, 0x7f]] {
            assert_eq!(base64_decode(&encode64(data)).unwrap(), data);
        }
        assert_eq!(base64_decode("c2VjcmV0").unwrap(), b"secret");
        assert!(base64_decode("c2V*").is_none());
    }

    fn encode64(data: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let mut b = [0u8; 3];
            b[..chunk.len()].copy_from_slice(chunk);
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    }
}
