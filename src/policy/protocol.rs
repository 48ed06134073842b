//! Postfix's SMTP access policy delegation wire format, and nothing else: a pure codec from bytes
//! to a `Request` and from an action to reply bytes. No I/O, no clock, no decisions.
//!
//! A request is `name=value` lines, each ending in `\n`, then an empty line. A trailing `\r` is
//! tolerated (people test with `telnet`/`nc -C`). Unknown attributes are ignored but must still
//! look like `name=value`; a duplicate attribute keeps its **first** value (Postfix never sends
//! duplicates, and first-wins cannot be overridden by a value smuggled in later). Values may be
//! empty. Anything else is garbage: the caller closes the connection without answering, so
//! Postfix applies its `default_action`.

use std::fmt;

use crate::domain::ClientIp;

/// Largest request accepted, in bytes, terminating empty line included. Postfix sends well under
/// 2 KiB; this bounds what one connection may make us buffer.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Most attribute lines in one request (Postfix sends about 30).
pub const MAX_ATTRIBUTES: usize = 256;

/// The one request type Postfix's policy client sends.
pub const REQUEST_NAME: &str = "smtpd_access_policy";

/// The attributes relaydesk uses; `None` when absent (an empty value is `Some("")`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Always `smtpd_access_policy` once parsed.
    pub request: String,
    /// `CONNECT`, `EHLO`, `HELO`, `MAIL`, `RCPT`, `DATA`, `END-OF-MESSAGE`, `VRFY`, `ETRN`.
    pub protocol_state: Option<String>,
    pub client_address: Option<String>,
    pub client_name: Option<String>,
    /// Envelope sender; empty for the null sender `<>`.
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub sasl_username: Option<String>,
    /// Same for every request of one message.
    pub instance: Option<String>,
    pub queue_id: Option<String>,
}

impl Request {
    /// The SMTP client's address, when present and an address.
    pub fn client_ip(&self) -> Option<ClientIp> {
        ClientIp::parse_lenient(self.client_address.as_deref()?)
    }
}

/// Why bytes are not a policy request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    NotUtf8,
    /// A line without `=`, or with an empty name.
    NotAnAttribute,
    TooLarge,
    TooManyAttributes,
    /// No `request=smtpd_access_policy`.
    NotAPolicyRequest,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Malformed::NotUtf8 => "a line is not UTF-8",
            Malformed::NotAnAttribute => "a line is not name=value",
            Malformed::TooLarge => "the request is larger than 64 KiB",
            Malformed::TooManyAttributes => "the request has more than 256 attributes",
            Malformed::NotAPolicyRequest => "no request=smtpd_access_policy",
        })
    }
}

impl std::error::Error for Malformed {}

/// Parses the first request in `buf`: `Ok(Some((request, bytes consumed)))`, `Ok(None)` when
/// `buf` holds only part of a request (read more and call again with the whole buffer), or
/// `Err` for garbage, which is reported as soon as a complete line shows it.
pub fn parse(buf: &[u8]) -> Result<Option<(Request, usize)>, Malformed> {
    Parser::default().parse(buf)
}

/// A request being read: the lines already taken and what they said. Fed the same buffer as
/// it grows, it looks only at the bytes after the last whole line it took, so a request sent
/// a byte at a time costs time linear in its length (the first version re-read the buffer
/// from its start on every read: quadratic). After a request or an error, start afresh with
/// `Parser::default()` on the bytes after the request.
#[derive(Debug, Default)]
pub struct Parser {
    req: Request,
    seen_request: bool,
    attributes: usize,
    /// Bytes of the buffer taken as whole lines so far.
    pos: usize,
    /// Bytes of the buffer known to hold no line end after `pos`: a long line dribbled in is
    /// searched once, not from its start on every call.
    searched: usize,
    /// Bytes looked at in all, for the tests of the above.
    examined: usize,
}

impl Parser {
    /// `parse` from where the last call left off; `buf` must start with the same bytes.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<(Request, usize)>, Malformed> {
        loop {
            let from = self.searched.max(self.pos).min(buf.len());
            let Some(nl) = memchr::memchr(b'\n', &buf[from..]) else {
                self.examined += buf.len() - from;
                self.searched = buf.len();
                break;
            };
            self.examined += nl + 1;
            let start = self.pos;
            let end = from + nl + 1;
            if end > MAX_REQUEST_BYTES {
                return Err(Malformed::TooLarge);
            }
            let line = &buf[start..end - 1];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.pos = end;
            if line.is_empty() {
                if !self.seen_request {
                    return Err(Malformed::NotAPolicyRequest);
                }
                let req = std::mem::take(&mut self.req);
                let examined = self.examined;
                *self = Parser::default();
                self.examined = examined;
                return Ok(Some((req, end)));
            }
            self.line(line)?;
        }
        if buf.len() >= MAX_REQUEST_BYTES {
            return Err(Malformed::TooLarge);
        }
        Ok(None)
    }

    /// One attribute line, without its line end.
    fn line(&mut self, line: &[u8]) -> Result<(), Malformed> {
        self.attributes += 1;
        if self.attributes > MAX_ATTRIBUTES {
            return Err(Malformed::TooManyAttributes);
        }
        let line = std::str::from_utf8(line).map_err(|_| Malformed::NotUtf8)?;
        let (name, value) = line.split_once('=').ok_or(Malformed::NotAnAttribute)?;
        if name.is_empty() {
            return Err(Malformed::NotAnAttribute);
        }
        let req = &mut self.req;
        let slot = match name {
            "request" => {
                if !self.seen_request {
                    if value != REQUEST_NAME {
                        return Err(Malformed::NotAPolicyRequest);
                    }
                    self.seen_request = true;
                    req.request = value.to_string();
                }
                return Ok(());
            }
            "protocol_state" => &mut req.protocol_state,
            "client_address" => &mut req.client_address,
            "client_name" => &mut req.client_name,
            "sender" => &mut req.sender,
            "recipient" => &mut req.recipient,
            "sasl_username" => &mut req.sasl_username,
            "instance" => &mut req.instance,
            "queue_id" => &mut req.queue_id,
            _ => return Ok(()),
        };
        if slot.is_none() {
            *slot = Some(value.to_string());
        }
        Ok(())
    }

    /// Bytes looked at since this parser was made (tests hold the reading linear with it).
    pub fn examined(&self) -> usize {
        self.examined
    }
}

/// Appends the reply `action=<action>\n\n` to `out`. Control characters (CR, LF, NUL, …) in
/// `action` become spaces: nothing can end the reply early or inject a second one.
pub fn encode_reply(action: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"action=");
    if action.chars().any(char::is_control) {
        let clean: String = action
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        out.extend_from_slice(clean.as_bytes());
    } else {
        out.extend_from_slice(action.as_bytes());
    }
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
        client_address=203.0.113.7\nclient_name=host.example.net\nreverse_client_name=x\n\
        helo_name=pc\nsender=taro@example.jp\nrecipient=friend@example.com\nrecipient_count=0\n\
        queue_id=\ninstance=123.456.7\nsize=0\nsasl_method=\nsasl_username=\n\n";

    fn ok(text: &str) -> (Request, usize) {
        parse(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn a_full_postfix_request_parses_and_reports_its_length() {
        let (req, used) = ok(FULL);
        assert_eq!(used, FULL.len());
        assert_eq!(req.request, "smtpd_access_policy");
        assert_eq!(req.protocol_state.as_deref(), Some("RCPT"));
        assert_eq!(req.client_address.as_deref(), Some("203.0.113.7"));
        assert_eq!(req.client_name.as_deref(), Some("host.example.net"));
        assert_eq!(req.sender.as_deref(), Some("taro@example.jp"));
        assert_eq!(req.recipient.as_deref(), Some("friend@example.com"));
        assert_eq!(req.instance.as_deref(), Some("123.456.7"));
        assert_eq!(req.queue_id.as_deref(), Some(""), "empty values are values");
        assert_eq!(req.sasl_username.as_deref(), Some(""));
        assert_eq!(req.client_ip(), Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn every_prefix_is_a_half_request() {
        for cut in 0..FULL.len() {
            assert_eq!(parse(&FULL.as_bytes()[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn pipelined_requests_are_taken_one_at_a_time() {
        let two = format!("{FULL}{}", FULL.replace("203.0.113.7", "2001:db8::1"));
        let (first, used) = ok(&two);
        assert_eq!(first.client_address.as_deref(), Some("203.0.113.7"));
        let (second, rest) = ok(&two[used..]);
        assert_eq!(second.client_address.as_deref(), Some("2001:db8::1"));
        assert_eq!(used + rest, two.len());
    }

    #[test]
    fn order_does_not_matter_and_unknown_attributes_are_ignored() {
        let (req, _) = ok("x_future=1\nrecipient=a@b.c\nrequest=smtpd_access_policy\n\
                           client_address=::ffff:192.0.2.1\nccert_subject=CN=x=y\n\n");
        assert_eq!(req.recipient.as_deref(), Some("a@b.c"));
        assert_eq!(req.client_ip(), Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_duplicate_keeps_the_first_value() {
        let (req, _) = ok("request=smtpd_access_policy\nclient_address=192.0.2.1\n\
                           client_address=192.0.2.2\nrequest=other\n\n");
        assert_eq!(req.client_address.as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn values_keep_equals_signs_and_crlf_is_tolerated() {
        let text = "request=smtpd_access_policy\r\nsender=a=b@c\r\n\r\n";
        let (req, used) = ok(text);
        assert_eq!(req.sender.as_deref(), Some("a=b@c"));
        assert_eq!(used, text.len());
    }

    #[test]
    fn garbage_is_malformed_as_soon_as_a_line_shows_it() {
        assert_eq!(parse(b"GET / HTTP/1.0\r\n"), Err(Malformed::NotAnAttribute));
        assert_eq!(
            parse(b"request=smtpd_access_policy\n=x\n"),
            Err(Malformed::NotAnAttribute)
        );
        assert_eq!(
            parse(b"request=smtpd_access_policy\nsender=\xff\xfe\n\n"),
            Err(Malformed::NotUtf8)
        );
        assert_eq!(parse(b"\n"), Err(Malformed::NotAPolicyRequest));
        assert_eq!(
            parse(b"client_address=192.0.2.1\n\n"),
            Err(Malformed::NotAPolicyRequest)
        );
        assert_eq!(
            parse(b"request=junk_policy\n"),
            Err(Malformed::NotAPolicyRequest)
        );
    }

    #[test]
    fn oversized_requests_are_refused_complete_or_not() {
        let mut big = b"request=smtpd_access_policy\nsender=".to_vec();
        big.resize(MAX_REQUEST_BYTES + 10, b'a');
        assert_eq!(parse(&big), Err(Malformed::TooLarge));
        big.extend_from_slice(b"\n\n");
        assert_eq!(parse(&big), Err(Malformed::TooLarge));
        let mut many = String::from("request=smtpd_access_policy\n");
        for i in 0..MAX_ATTRIBUTES {
            many.push_str(&format!("x{i}=1\n"));
        }
        assert_eq!(parse(many.as_bytes()), Err(Malformed::TooManyAttributes));
        // Exactly at the limit is fine.
        let mut at_limit = String::from("request=smtpd_access_policy\n");
        for i in 1..MAX_ATTRIBUTES {
            at_limit.push_str(&format!("x{i}=1\n"));
        }
        at_limit.push('\n');
        assert!(parse(at_limit.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn a_request_fed_a_byte_at_a_time_is_read_once() {
        let mut parser = Parser::default();
        let bytes = FULL.as_bytes();
        for cut in 1..bytes.len() {
            assert_eq!(parser.parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        let (req, used) = parser.parse(bytes).unwrap().unwrap();
        assert_eq!((req, used), ok(FULL));
        // 60 KB a byte at a time: every byte is looked at once, not once per read.
        let mut big = String::from("request=smtpd_access_policy\n");
        let mut i = 0;
        while big.len() < 59 * 1024 {
            big.push_str(&format!("x{i}={}\n", "p".repeat(240)));
            i += 1;
        }
        big.push('\n');
        let mut parser = Parser::default();
        for cut in 1..big.len() {
            assert_eq!(parser.parse(&big.as_bytes()[..cut]), Ok(None));
        }
        assert!(parser.parse(big.as_bytes()).unwrap().is_some());
        assert!(
            parser.examined() <= big.len(),
            "{} bytes looked at for {}",
            parser.examined(),
            big.len()
        );
        // Garbage is still found as soon as its line ends.
        let mut parser = Parser::default();
        assert_eq!(parser.parse(b"request=smtpd_access_policy\nno"), Ok(None));
        assert_eq!(
            parser.parse(b"request=smtpd_access_policy\nno equals\n"),
            Err(Malformed::NotAnAttribute)
        );
    }

    #[test]
    fn replies_never_carry_control_characters_in_the_action() {
        let mut out = Vec::new();
        encode_reply("OK", &mut out);
        assert_eq!(out, b"action=OK\n\n");
        out.clear();
        encode_reply("REJECT 5.7.1 no\r\n\naction=OK\x00\x1b[", &mut out);
        assert_eq!(out, b"action=REJECT 5.7.1 no   action=OK  [\n\n");
    }
}
