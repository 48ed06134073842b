//! How every HTML template escapes what it prints (`askama.toml` names this escaper for
//! `.html`): HTML's own escaping, and untrusted text's control and bidirectional characters
//! written visibly as `[U+XXXX]` (`domain::shown`). Text from logs reaches many pages — user
//! names, senders, recipients, HELO names — and a U+202E or an ESC must never make one value
//! display as another on any of them, so the rule lives here once, not in each template.

use std::fmt::{self, Write};

use askama::filters::Escaper;

use crate::domain::is_unshowable;

/// The escaper of `.html` templates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Escaper for Html {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut rest = string;
        while let Some(at) = rest.find(is_unshowable) {
            askama::filters::Html.write_escaped_str(&mut dest, &rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(dest, "[U+{:04X}]", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        askama::filters::Html.write_escaped_str(dest, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_controls_are_shown() {
        let mut out = String::new();
        Html.write_escaped_str(&mut out, "<b>\u{202E}moc\u{1b}\r&")
            .unwrap();
        assert_eq!(out, "&#60;b&#62;[U+202E]moc[U+001B][U+000D]&#38;");
    }
}
