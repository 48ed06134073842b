//! Automatic client setup from `[service]`, so a customer need not type server names:
//!
//! - Thunderbird autoconfig: `GET /.well-known/autoconfig/mail/config-v1.1.xml` and
//!   `GET /mail/config-v1.1.xml` (for an `autoconfig.<domain>` host), `?emailaddress=` optional.
//! - Outlook Autodiscover (POX, the 2006a response schema): `POST /autodiscover/autodiscover.xml`
//!   (also the `Autodiscover/Autodiscover.xml` spelling).
//! - An Apple configuration profile (`.mobileconfig`) for iPhone, iPad and Apple Mail:
//!   `GET /guide/mail.mobileconfig?email=…` (or the signed-in customer's address).
//!
//! With SMTP AUTH offered (`service.submission_port` > 0) each sends mail on the submission
//! port with STARTTLS and the mailbox password; without it, on port 25 after receiving — POP
//! before SMTP, in each format's own words (`smtp-after-pop`, `SMTPLast`, `EmailAuthNone`).
//! The mailbox logs in with the address's local part (the login relaydesk sees). Incoming
//! mail and its protection (POP3S 995 / IMAPS 993 or STARTTLS) follow `[service]`, as the
//! guides do. The Apple profile is a CMS SignedData when `[service] profile_certificate` and
//! `profile_key` are set (`crate::cms`), the plain plist otherwise.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::session::{Kind, MaybeSession};
use crate::config::{Config, Tls};
use crate::web::App;
use crate::web::error::WebError;

const SMTP_PORT: u16 = 25;

/// Thunderbird's `socketType` for a mode.
fn socket_type(tls: Tls) -> &'static str {
    match tls {
        Tls::Implicit => "SSL",
        Tls::Starttls => "STARTTLS",
        Tls::None => "plain",
    }
}

/// Autodiscover's `SSL` and `Encryption` for a mode (POX 2006a: `Encryption` is `SSL` for TLS
/// from the first byte, `TLS` for STARTTLS, and wins over `SSL` where a client reads both).
fn autodiscover_tls(tls: Tls) -> &'static str {
    match tls {
        Tls::Implicit => "        <SSL>on</SSL>\n        <Encryption>SSL</Encryption>\n",
        Tls::Starttls => "        <SSL>on</SSL>\n        <Encryption>TLS</Encryption>\n",
        Tls::None => "        <SSL>off</SSL>\n        <Encryption>None</Encryption>\n",
    }
}

/// `&`, `<`, `>`, `"` and `'` as XML entities.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `c` may stand in an address written into a setup document: a character XML 1.0
/// allows (not U+FFFE, U+FFFF), no Unicode noncharacter (U+FDD0–U+FDEF, U+nFFFE, U+nFFFF),
/// no control, space or bidirectional control.
fn fits_address(c: char) -> bool {
    let n = c as u32;
    let noncharacter = (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE;
    !noncharacter && !c.is_whitespace() && !crate::domain::is_unshowable(c) && !c.is_control()
}

/// A customer's address: `local@domain` with a customer domain, printable, not too long.
fn customer_address(config: &Config, address: &str) -> Result<(String, String), WebError> {
    let address = address.trim().to_ascii_lowercase();
    let bad = || WebError::BadRequest("email: not an address of this service".into());
    if address.len() > 254 || !address.chars().all(fits_address) {
        return Err(bad());
    }
    let (local, domain) = address.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.contains('@') || !config.relay.is_customer_domain(domain) {
        return Err(bad());
    }
    Ok((local.to_string(), domain.to_string()))
}

#[derive(Debug, Deserialize)]
pub struct AutoconfigQuery {
    #[serde(default)]
    emailaddress: Option<String>,
}

/// Thunderbird's `config-v1.1.xml`.
pub async fn thunderbird(
    State(app): State<Arc<App>>,
    Query(q): Query<AutoconfigQuery>,
) -> Result<Response, WebError> {
    let config = &app.config;
    if let Some(address) = q.emailaddress.as_deref().filter(|a| !a.is_empty()) {
        customer_address(config, address)?;
    }
    Ok(xml_response("application/xml", thunderbird_xml(config)))
}

pub fn thunderbird_xml(config: &Config) -> String {
    let s = &config.service;
    let id = config
        .relay
        .customer_domains
        .first()
        .cloned()
        .unwrap_or_else(|| s.smtp_server.clone());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out += "<clientConfig version=\"1.1\">\n";
    out += &format!("  <emailProvider id=\"{}\">\n", xml(&id));
    for domain in &config.relay.customer_domains {
        out += &format!("    <domain>{}</domain>\n", xml(domain));
    }
    out += &format!("    <displayName>{}</displayName>\n", xml(&s.name));
    out += &format!(
        "    <displayShortName>{}</displayShortName>\n",
        xml(&s.name)
    );
    for (kind, host, port, tls) in [
        ("pop3", &s.pop_server, s.pop_port(), s.pop_tls),
        ("imap", &s.imap_server, s.imap_port(), s.imap_tls),
    ] {
        out += &format!(
            "    <incomingServer type=\"{kind}\">\n      <hostname>{}</hostname>\n      \
             <port>{port}</port>\n      <socketType>{}</socketType>\n      \
             <username>%EMAILLOCALPART%</username>\n      \
             <authentication>password-cleartext</authentication>\n    </incomingServer>\n",
            xml(host),
            socket_type(tls)
        );
    }
    if let Some((port, tls)) = s.submission() {
        out += &format!(
            "    <outgoingServer type=\"smtp\">\n      <hostname>{}</hostname>\n      \
             <port>{port}</port>\n      <socketType>{}</socketType>\n      \
             <username>%EMAILLOCALPART%</username>\n      \
             <authentication>password-cleartext</authentication>\n    </outgoingServer>\n",
            xml(&s.smtp_server),
            socket_type(tls)
        );
    } else {
        out += &format!(
            "    <outgoingServer type=\"smtp\">\n      <hostname>{}</hostname>\n      \
             <port>{SMTP_PORT}</port>\n      <socketType>{}</socketType>\n      \
             <authentication>smtp-after-pop</authentication>\n    </outgoingServer>\n",
            xml(&s.smtp_server),
            socket_type(s.smtp_tls)
        );
    }
    out += "  </emailProvider>\n</clientConfig>\n";
    out
}

/// Outlook's POX Autodiscover: the request's `EMailAddress`, answered with POP3, IMAP and SMTP.
/// A body that is not such a request is a 400.
pub async fn outlook(State(app): State<Arc<App>>, body: Bytes) -> Result<Response, WebError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| WebError::BadRequest("body: not UTF-8 XML".into()))?;
    let address = autodiscover_address(text)
        .ok_or_else(|| WebError::BadRequest("body: not an Autodiscover request".into()))?;
    let (local, domain) = customer_address(&app.config, &address)?;
    Ok(xml_response(
        "text/xml; charset=utf-8",
        outlook_xml(&app.config, &local, &domain),
    ))
}

/// The `EMailAddress` of a POX request (any namespace prefix), if the text is one: an
/// `Autodiscover` root element, one `Request`, one address, tags balanced.
fn autodiscover_address(text: &str) -> Option<String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if !text.starts_with('<') || !text.ends_with('>') || text.len() > 16 * 1024 {
        return None;
    }
    if !text.contains("Autodiscover") || !text.contains("Request") {
        return None;
    }
    // The element with local name EMailAddress: `<EMailAddress>` or `<p:EMailAddress>`.
    let open = find_element(text, "EMailAddress")?;
    let rest = &text[open..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    let close = &rest[end..];
    if !close.starts_with("</") || !close[2..close.find('>')?].ends_with("EMailAddress") {
        return None;
    }
    // Tags balanced: as many `<` as `>`, and the document ends by closing its root.
    if text.matches('<').count() != text.matches('>').count() {
        return None;
    }
    let last = text.rfind("</")?;
    if !text[last + 2..text.len() - 1]
        .trim_end()
        .ends_with("Autodiscover")
    {
        return None;
    }
    Some(rest[start..end].trim().to_string())
}

fn find_element(text: &str, local: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(local) {
        let at = from + i;
        let before = text[..at].rfind('<')?;
        let name = &text[before + 1..at];
        if !name.starts_with('/') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
            let after = text[at + local.len()..].chars().next();
            if matches!(after, Some('>') | Some(' ')) {
                return Some(before);
            }
        }
        from = at + local.len();
    }
    None
}

pub fn outlook_xml(config: &Config, local: &str, domain: &str) -> String {
    let s = &config.service;
    let protocol = |kind: &str, host: &str, port: u16, extra: &str| {
        format!(
            "      <Protocol>\n        <Type>{kind}</Type>\n        <Server>{}</Server>\n        \
             <Port>{port}</Port>\n        <LoginName>{}</LoginName>\n        \
             <DomainRequired>off</DomainRequired>\n        <SPA>off</SPA>\n{extra}      </Protocol>\n",
            xml(host),
            xml(local)
        )
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out += "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n";
    out += "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n";
    out += &format!(
        "    <User>\n      <DisplayName>{}</DisplayName>\n    </User>\n",
        xml(&format!("{local}@{domain}"))
    );
    out +=
        "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n";
    let incoming = |tls| {
        format!(
            "{}        <AuthRequired>on</AuthRequired>\n",
            autodiscover_tls(tls)
        )
    };
    out += &protocol("POP3", &s.pop_server, s.pop_port(), &incoming(s.pop_tls));
    out += &protocol("IMAP", &s.imap_server, s.imap_port(), &incoming(s.imap_tls));
    if let Some((port, tls)) = s.submission() {
        out += &protocol(
            "SMTP",
            &s.smtp_server,
            port,
            &format!(
                "{}        <AuthRequired>on</AuthRequired>\n        <UsePOPAuth>on</UsePOPAuth>\n",
                autodiscover_tls(tls)
            ),
        );
    } else {
        out += &protocol(
            "SMTP",
            &s.smtp_server,
            SMTP_PORT,
            &format!(
                "{}        <AuthRequired>off</AuthRequired>\n        <SMTPLast>on</SMTPLast>\n",
                autodiscover_tls(s.smtp_tls)
            ),
        );
    }
    out += "    </Account>\n  </Response>\n</Autodiscover>\n";
    out
}

#[derive(Debug, Deserialize)]
pub struct ProfileQuery {
    #[serde(default)]
    email: Option<String>,
}

/// The Apple configuration profile for `?email=` or the signed-in customer.
pub async fn apple(
    State(app): State<Arc<App>>,
    MaybeSession(session): MaybeSession,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, WebError> {
    let config = &app.config;
    let address = match q.email.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => a.to_string(),
        None => match session.filter(|s| s.kind == Kind::Customer) {
            Some(s) if s.subject.contains('@') => s.subject.clone(),
            Some(s) => format!(
                "{}@{}",
                s.subject,
                config
                    .relay
                    .customer_domains
                    .first()
                    .map_or("", String::as_str)
            ),
            None => {
                return Err(WebError::BadRequest(
                    "email: give the address to set up".into(),
                ));
            }
        },
    };
    let (local, domain) = customer_address(config, &address)?;
    let profile = apple_profile(config, &local, &domain);
    let body = match &app.profile_signer {
        Some(signer) => signer.sign(profile.as_bytes(), app.now()).map_err(|e| {
            tracing::error!(error = %e, "signing the Apple profile");
            WebError::Unavailable
        })?,
        None => profile.into_bytes(),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/x-apple-aspen-config"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mail.mobileconfig\"",
            ),
        ],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("literal"));
    Ok(response)
}

/// A random (version 4) UUID, uppercase as Apple writes them.
fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::secrets::hex(&b).to_ascii_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The reverse-DNS prefix of the profile's identifiers, from `web.public_url`'s host.
fn identifier_prefix(config: &Config) -> String {
    let host = config
        .web
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or(&config.web.public_url)
        .split(['/', ':'])
        .next()
        .unwrap_or("relaydesk");
    let mut parts: Vec<&str> = host.split('.').filter(|p| !p.is_empty()).collect();
    parts.reverse();
    parts.join(".")
}

pub fn apple_profile(config: &Config, local: &str, domain: &str) -> String {
    let s = &config.service;
    let address = format!("{local}@{domain}");
    // Stable per address, so installing it again replaces the earlier one.
    let stable = &crate::secrets::sha256_hex(&address)[..16];
    let prefix = identifier_prefix(config);
    let string =
        |k: &str, v: &str| format!("      <key>{k}</key>\n      <string>{}</string>\n", xml(v));
    let int = |k: &str, v: u16| format!("      <key>{k}</key>\n      <integer>{v}</integer>\n");
    let boolean = |k: &str, v: bool| format!("      <key>{k}</key>\n      <{v}/>\n");
    let mut mail = String::new();
    mail += &string("EmailAccountDescription", &s.name);
    mail += &string("EmailAccountName", local);
    mail += &string("EmailAccountType", "EmailTypePOP");
    mail += &string("EmailAddress", &address);
    mail += &string("IncomingMailServerAuthentication", "EmailAuthPassword");
    mail += &string("IncomingMailServerHostName", &s.pop_server);
    mail += &int("IncomingMailServerPortNumber", s.pop_port());
    // Apple Mail's UseSSL: TLS on that port, implicit or by STARTTLS as the port tells.
    mail += &boolean("IncomingMailServerUseSSL", s.pop_tls != Tls::None);
    mail += &string("IncomingMailServerUsername", local);
    if let Some((port, tls)) = s.submission() {
        mail += &string("OutgoingMailServerAuthentication", "EmailAuthPassword");
        mail += &string("OutgoingMailServerHostName", &s.smtp_server);
        mail += &int("OutgoingMailServerPortNumber", port);
        mail += &boolean("OutgoingMailServerUseSSL", tls != Tls::None);
        mail += &string("OutgoingMailServerUsername", local);
        mail += &boolean("OutgoingPasswordSameAsIncomingPassword", true);
    } else {
        mail += &string("OutgoingMailServerAuthentication", "EmailAuthNone");
        mail += &string("OutgoingMailServerHostName", &s.smtp_server);
        mail += &int("OutgoingMailServerPortNumber", SMTP_PORT);
        mail += &boolean("OutgoingMailServerUseSSL", s.smtp_tls != Tls::None);
    }
    mail += &string("PayloadDisplayName", &format!("{} ({address})", s.name));
    mail += &string(
        "PayloadIdentifier",
        &format!("{prefix}.mail.{stable}.account"),
    );
    mail += &string("PayloadType", "com.apple.mail.managed");
    mail += &string("PayloadUUID", &uuid());
    mail += "      <key>PayloadVersion</key>\n      <integer>1</integer>\n";
    let top = |k: &str, v: &str| format!("  <key>{k}</key>\n  <string>{}</string>\n", xml(v));
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n",
    );
    out += "  <key>PayloadContent</key>\n  <array>\n    <dict>\n";
    out += &mail;
    out += "    </dict>\n  </array>\n";
    out += &top("PayloadDisplayName", &format!("{} mail", s.name));
    out += &top("PayloadIdentifier", &format!("{prefix}.mail.{stable}"));
    out += &top("PayloadType", "Configuration");
    out += &top("PayloadUUID", &uuid());
    out += "  <key>PayloadVersion</key>\n  <integer>1</integer>\n</dict>\n</plist>\n";
    out
}

fn xml_response(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_xml_cannot_carry_are_refused() {
        let config = Config::default();
        assert!(customer_address(&config, "taro@example.jp").is_ok());
        assert!(customer_address(&config, "たろう@example.jp").is_ok());
        for bad in [
            "\u{FFFE}@example.jp",
            "a\u{FFFF}@example.jp",
            "a\u{FDD0}@example.jp",
            "a\u{1FFFE}@example.jp",
            "a\u{202E}@example.jp",
            "a\u{1b}@example.jp",
            "a b@example.jp",
        ] {
            assert!(customer_address(&config, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn autodiscover_requests_are_read_with_or_without_prefixes() {
        let plain = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>taro@example.jp</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#;
        assert_eq!(
            autodiscover_address(plain).as_deref(),
            Some("taro@example.jp")
        );
        let prefixed = "<a:Autodiscover xmlns:a=\"x\"><a:Request><a:EMailAddress> hanako@example.jp \
                        </a:EMailAddress></a:Request></a:Autodiscover>";
        assert_eq!(
            autodiscover_address(prefixed).as_deref(),
            Some("hanako@example.jp")
        );
        for bad in [
            "",
            "not xml",
            "<Autodiscover><Request></Request></Autodiscover>",
            "<Autodiscover><Request><EMailAddress>taro@example.jp</Request></Autodiscover>",
            "<Autodiscover><Request><EMailAddress>taro@example.jp</EMailAddress></Request>",
        ] {
            assert_eq!(autodiscover_address(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid(), u);
    }
}
