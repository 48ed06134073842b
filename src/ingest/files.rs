//! Log files on disk: reading from a position (plain or multi-member gzip), fingerprints that
//! recognize a file after it was renamed or compressed, and a followed path's rotated siblings.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// A file is recognized by a hash of its first bytes (decompressed), up to this many.
pub const FP_MAX: usize = 1024;

/// The identity of a file's content: FNV-1a of its first `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: i64,
    pub len: i64,
}

impl Fingerprint {
    pub fn of(head: &[u8]) -> Self {
        Fingerprint {
            hash: fnv1a(head),
            len: head.len() as i64,
        }
    }

    /// Whether a file whose first bytes are `head` is the file this fingerprint was taken of.
    /// A fingerprint of nothing identifies nothing.
    pub fn matches(self, head: &[u8]) -> bool {
        self.len > 0
            && head.len() as i64 >= self.len
            && fnv1a(&head[..self.len as usize]) == self.hash
    }
}

fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// The first `FP_MAX` bytes of a file, decompressed when it is gzip.
pub fn head(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut buf = Vec::with_capacity(FP_MAX);
    if is_gzip(path) {
        MultiGzDecoder::new(file)
            .take(FP_MAX as u64)
            .read_to_end(&mut buf)?;
    } else {
        file.take(FP_MAX as u64).read_to_end(&mut buf)?;
    }
    Ok(buf)
}

/// A reader positioned `offset` bytes into the (decompressed) content of `path`.
pub fn open_at(path: &Path, offset: u64) -> io::Result<Box<dyn BufRead + Send>> {
    let mut file = File::open(path)?;
    if is_gzip(path) {
        let mut reader = BufReader::with_capacity(1 << 18, MultiGzDecoder::new(file));
        io::copy(&mut (&mut reader).take(offset), &mut io::sink())?;
        Ok(Box::new(reader))
    } else {
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(BufReader::with_capacity(1 << 18, file)))
    }
}

/// The rotated siblings of `path`, oldest first: `mail.log.3.gz`, `mail.log.2.gz`,
/// `mail.log.1`, and date-stamped `mail.log-20260312(.gz)` in date order.
pub fn rotated_siblings(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // (age rank: larger is older, date stamp, path)
    let mut found: Vec<(u64, String, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(base) else {
            continue;
        };
        let rest = rest.strip_suffix(".gz").unwrap_or(rest);
        if let Some(n) = rest.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
            found.push((n, String::new(), entry.path()));
        } else if let Some(date) = rest.strip_prefix('-')
            && !date.is_empty()
            && date.bytes().all(|b| b.is_ascii_digit())
        {
            // Date stamps sort oldest first; rank them all as older than numbered files.
            found.push((u64::MAX, date.to_string(), entry.path()));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().map(|(_, _, p)| p).collect()
}

/// Reads complete lines into `buf` (without their newline), calling `line` for each, until
/// `max` lines or the end of what has been written. Returns the bytes consumed. A last line
/// without a newline is consumed only when `take_partial` (a rotated file that is complete).
pub fn read_lines(
    reader: &mut dyn BufRead,
    max: usize,
    take_partial: bool,
    mut line: impl FnMut(&[u8]),
) -> io::Result<(u64, usize, bool)> {
    let mut consumed = 0u64;
    let mut count = 0usize;
    let mut buf = Vec::with_capacity(512);
    while count < max {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok((consumed, count, true));
        }
        if buf.last() != Some(&b'\n') {
            if take_partial {
                consumed += n as u64;
                count += 1;
                line(trim_cr(&buf));
            }
            return Ok((consumed, count, true));
        }
        consumed += n as u64;
        count += 1;
        line(trim_cr(&buf[..buf.len() - 1]));
    }
    Ok((consumed, count, false))
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn siblings_are_ordered_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "mail.log",
            "mail.log.1",
            "mail.log.2.gz",
            "mail.log.10.gz",
            "mail.log.bak",
            "mail.login",
        ] {
            File::create(dir.path().join(name)).unwrap();
        }
        let names: Vec<String> = rotated_siblings(&dir.path().join("mail.log"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1"]);
    }

    #[test]
    fn gzip_members_are_all_read_and_offsets_are_decompressed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.log.2.gz");
        let mut file = File::create(&path).unwrap();
        for part in ["one\ntwo\n", "three\n"] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part.as_bytes()).unwrap();
            file.write_all(&gz.finish().unwrap()).unwrap();
        }
        drop(file);
        let mut lines = Vec::new();
        let mut reader = open_at(&path, 4).unwrap();
        let (consumed, count, eof) = read_lines(&mut reader, 100, true, |l| {
            lines.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap();
        assert_eq!(lines, ["two", "three"]);
        assert_eq!((consumed, count, eof), (10, 2, true));
        assert!(Fingerprint::of(b"one\n").matches(&head(&path).unwrap()));
    }

    #[test]
    fn partial_last_lines_wait_unless_the_file_is_complete() {
        let mut data: &[u8] = b"a\r\nb\npart";
        let mut seen = Vec::new();
        let (consumed, _, _) = read_lines(&mut data, 10, false, |l| seen.push(l.to_vec())).unwrap();
        assert_eq!(seen, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(consumed, 5);
    }

    #[test]
    fn lines_straddling_buffer_fills_are_whole_and_counted_once() {
        let text = b"first line\r\nsecond, a longer line\nx\n\nlast without newline";
        for cap in [1, 2, 3, 7, 64] {
            for take_partial in [false, true] {
                let mut reader = BufReader::with_capacity(cap, &text[..]);
                let mut seen = Vec::new();
                let mut total = (0, 0);
                loop {
                    let (consumed, count, eof) =
                        read_lines(&mut reader, 2, take_partial, |l| seen.push(l.to_vec()))
                            .unwrap();
                    total = (total.0 + consumed, total.1 + count);
                    if eof {
                        break;
                    }
                }
                let mut want: Vec<&[u8]> = vec![b"first line", b"second, a longer line", b"x", b""];
                if take_partial {
                    want.push(b"last without newline");
                }
                assert_eq!(seen, want, "capacity {cap}");
                let bytes = if take_partial { text.len() } else { 37 };
                assert_eq!(total, (bytes as u64, want.len()), "capacity {cap}");
            }
        }
    }

    #[test]
    fn an_empty_fingerprint_matches_nothing() {
        assert!(!Fingerprint::of(b"").matches(b"anything"));
        assert!(Fingerprint::of(b"abc").matches(b"abcdef"));
        assert!(!Fingerprint::of(b"abd").matches(b"abcdef"));
        assert!(!Fingerprint::of(b"abcdefg").matches(b"abcdef"));
    }
}
