//! The staff second factor: time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) with
//! HMAC-SHA-1, 6 digits and 30-second steps, accepting one step either side for clock drift —
//! what every authenticator app speaks. Secrets travel as RFC 4648 base32, written by hand
//! here because it is twenty lines. Pure: time is an argument.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per code.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes in a new secret: 160 bits, as RFC 4226 recommends for SHA-1.
pub const SECRET_BYTES: usize = 20;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, without padding (as otpauth:// URIs carry it).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 as people type it: any case, spaces and dashes ignored, padding optional.
/// None for any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            b' ' | b'-' | b'=' => continue,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

/// RFC 4226 HOTP: the code for `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The code shown at `now`.
pub fn code_at(secret: &[u8], now: i64) -> u32 {
    hotp(secret, (now.max(0) / STEP) as u64)
}

/// Whether `code` (six digits, spaces allowed) is right for the base32 `secret` at `now`, give
/// or take one step.
pub fn verify(secret_b32: &str, code: &str, now: i64) -> bool {
    matching_step(secret_b32, code, now).is_some()
}

/// The time step whose code `code` is (now's, or one either side), if any: what a sign-in
/// remembers so the same code is never accepted twice.
pub fn matching_step(secret_b32: &str, code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code = code.parse::<u32>().ok()?;
    let secret = base32_decode(secret_b32).filter(|s| !s.is_empty())?;
    let step = now.max(0) / STEP;
    // Compare all three without stopping early: timing tells nothing.
    [step - 1, step, step + 1]
        .into_iter()
        .filter(|s| *s >= 0)
        .fold(None, |found, s| {
            let hit = hotp(&secret, s as u64) == code;
            if hit && found.is_none() {
                Some(s)
            } else {
                found
            }
        })
}

/// A new random secret, base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base32_encode(&bytes)
}

/// The `otpauth://` URI an authenticator app imports (typed, or as a QR code made elsewhere).
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| super::path_segment(s);
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_the_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), coded);
            assert_eq!(base32_decode(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb-oi======").unwrap(), b"foobar");
        assert!(base32_decode("MZ1W").is_none());
    }

    #[test]
    fn codes_match_the_rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B lists 8 digits; the last 6 are the 6-digit code.
        for (t, code) in [
            (59, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
        ] {
            assert_eq!(code_at(secret, t), code % 1_000_000, "t={t}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_no_more() {
        let b32 = base32_encode(b"12345678901234567890");
        let now = 1_111_111_111;
        let code = |t: i64| format!("{:06}", code_at(b"12345678901234567890", t));
        assert!(verify(&b32, &code(now), now));
        assert!(verify(&b32, &code(now - 30), now));
        assert!(verify(&b32, &code(now + 30), now));
        assert!(!verify(&b32, &code(now - 90), now));
        assert!(!verify(&b32, "12345", now));
        assert!(!verify(&b32, "abcdef", now));
        assert!(!verify("", &code(now), now));
    }

    #[test]
    fn new_secrets_are_160_bits() {
        let s = new_secret();
        assert_eq!(base32_decode(&s).unwrap().len(), SECRET_BYTES);
        assert_ne!(s, new_secret());
        let uri = otpauth_uri("Example Net", "sato", &s);
        assert!(
            uri.starts_with("otpauth://totp/Example%20Net:sato?secret="),
            "{uri}"
        );
    }
}
