//! Markdown written by staff (notices) → HTML that is safe to put in a page. Raw HTML in the
//! source is shown as text, never passed through; links and images keep only `http`, `https`
//! and `mailto` addresses (and paths on this site), others are dropped with their markup while
//! their text stays. The output needs no further sanitizing: everything else the renderer
//! writes is escaped by it.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Renders `source` to safe HTML.
pub fn to_html(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Whether each open link or image was kept, so its end is kept or dropped alike.
    let mut open: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = allowed_url(&dest_url);
            open.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = allowed_url(&dest_url);
            open.push(keep);
            keep.then_some(Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(end @ (TagEnd::Link | TagEnd::Image)) => {
            open.pop().unwrap_or(false).then_some(Event::End(end))
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// `http:`, `https:` and `mailto:` addresses, and paths or fragments on this site.
fn allowed_url(url: &CowStr<'_>) -> bool {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        || (url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\"))
        || url.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_markdown_renders() {
        let html = to_html("## Hello\n\n**bold** and [guide](/guide) and <https://example.jp/>\n");
        assert!(html.contains("<h2>Hello</h2>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains(r#"<a href="/guide">guide</a>"#));
        assert!(html.contains(r#"<a href="https://example.jp/">"#));
    }

    #[test]
    fn script_tags_are_shown_as_text() {
        let html = to_html("Hi <script>alert(1)</script>\n\n<script>\nalert(2)\n</script>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn event_handler_attributes_never_become_markup() {
        let html = to_html("<img src=x onerror=alert(1)>\n\ntext <b onmouseover=\"x()\">b</b>");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        let titled = to_html(r#"![a](https://example.jp/a.png "x\" onerror=\"alert(1)")"#);
        assert!(!titled.contains("\" onerror"), "{titled}");
    }

    #[test]
    fn javascript_and_other_schemes_are_dropped() {
        for source in [
            "[click](javascript:alert(1))",
            "[click](JavaScript:alert(1))",
            "[click]( javascript:alert(1))",
            "[click](&#106;avascript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
            "[click](vbscript:msgbox)",
            "[click](//evil.example/)",
            "[click][r]\n\n[r]: javascript:alert(1)",
        ] {
            let html = to_html(source);
            assert!(!html.contains("<a"), "{source} → {html}");
            assert!(html.contains("click"), "the text stays: {html}");
        }
        let image = to_html("![pic](javascript:alert(1)) ![ok](https://example.jp/a.png)");
        assert_eq!(image.matches("<img").count(), 1, "{image}");
        assert!(!image.contains("javascript"), "{image}");
        let mail = to_html("[write](mailto:support@example.jp)");
        assert!(
            mail.contains(r#"href="mailto:support@example.jp""#),
            "{mail}"
        );
    }

    #[test]
    fn nested_dropped_links_keep_their_ends_balanced() {
        let html = to_html("[a ![i](javascript:x) b](https://example.jp/)");
        assert_eq!(html.matches("<a ").count(), html.matches("</a>").count());
        assert!(!html.contains("javascript"), "{html}");
    }
}
