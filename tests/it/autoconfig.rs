//! Automatic client setup: what Thunderbird, Outlook and Apple's devices read, with SMTP AUTH
//! offered and without it (POP before SMTP), and bad input refused.

use axum::body::Body;
use axum::http::{Request, header};
use relaydesk::config::Config;

use crate::helpers::sqlite;
use crate::web_helpers::{Web, done};

fn isp(submission_port: u16) -> Config {
    let mut config = Config::default();
    config.service.submission_port = submission_port;
    config.service.pop_server = "pop.isp.example".into();
    config.service.imap_server = "imap.isp.example".into();
    config.service.smtp_server = "smtp.isp.example".into();
    config
}

/// The text of the first `<name>` element inside `within` (the first element of that name).
fn element<'a>(doc: &'a str, within: &str, name: &str) -> &'a str {
    let start = doc
        .find(within)
        .unwrap_or_else(|| panic!("no {within} in {doc}"));
    let doc = &doc[start..];
    let open = format!("<{name}>");
    let at = doc
        .find(&open)
        .unwrap_or_else(|| panic!("no {name} in {doc}"))
        + open.len();
    &doc[at..at + doc[at..].find('<').unwrap()]
}

fn autodiscover_request(address: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#
    )
}

async fn post_xml(web: &mut Web, path: &str, body: String) -> crate::web_helpers::Reply {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "text/xml")
        .body(Body::from(body))
        .unwrap();
    web.send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thunderbird_finds_the_servers_with_and_without_smtp_auth() {
    for (port, out_port, socket, auth) in [
        (587, "587", "STARTTLS", "password-cleartext"),
        // Port 25 of Postfix offers STARTTLS (service.smtp_tls).
        (0, "25", "STARTTLS", "smtp-after-pop"),
    ] {
        let mut web = Web::new(sqlite().await, isp(port));
        for path in [
            "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=taro%40example.jp",
            "/mail/config-v1.1.xml",
        ] {
            let r = web.get(path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let doc = &r.body;
            assert!(doc.contains(r#"<clientConfig version="1.1">"#), "{doc}");
            assert!(doc.contains("<domain>example.jp</domain>"), "{doc}");
            assert_eq!(
                element(doc, r#"type="pop3""#, "hostname"),
                "pop.isp.example"
            );
            // POP3S and IMAPS by default (service.pop_tls, imap_tls).
            assert_eq!(element(doc, r#"type="pop3""#, "port"), "995");
            assert_eq!(element(doc, r#"type="pop3""#, "socketType"), "SSL");
            assert_eq!(
                element(doc, r#"type="imap""#, "hostname"),
                "imap.isp.example"
            );
            assert_eq!(element(doc, r#"type="imap""#, "port"), "993");
            assert_eq!(
                element(doc, r#"type="pop3""#, "username"),
                "%EMAILLOCALPART%"
            );
            let smtp = r#"<outgoingServer type="smtp">"#;
            assert_eq!(element(doc, smtp, "hostname"), "smtp.isp.example");
            assert_eq!(element(doc, smtp, "port"), out_port, "{doc}");
            assert_eq!(element(doc, smtp, "socketType"), socket);
            assert_eq!(element(doc, smtp, "authentication"), auth);
        }
        let stranger = web
            .get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=x%40elsewhere.example")
            .await;
        assert_eq!(stranger.status, 400);
        let garbage = web
            .get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=not-an-address")
            .await;
        assert_eq!(garbage.status, 400);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlook_autodiscover_answers_pop3_imap_and_smtp() {
    for port in [587, 0] {
        let mut web = Web::new(sqlite().await, isp(port));
        for path in [
            "/autodiscover/autodiscover.xml",
            "/Autodiscover/Autodiscover.xml",
        ] {
            let r = post_xml(&mut web, path, autodiscover_request("taro@example.jp")).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let doc = &r.body;
            assert!(doc.contains(
                "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
            ));
            assert_eq!(
                element(doc, "<Type>POP3</Type>", "Server"),
                "pop.isp.example"
            );
            assert_eq!(element(doc, "<Type>POP3</Type>", "Port"), "995");
            assert_eq!(element(doc, "<Type>POP3</Type>", "SSL"), "on");
            assert_eq!(element(doc, "<Type>POP3</Type>", "Encryption"), "SSL");
            assert_eq!(element(doc, "<Type>POP3</Type>", "LoginName"), "taro");
            assert_eq!(element(doc, "<Type>IMAP</Type>", "Port"), "993");
            let smtp = "<Type>SMTP</Type>";
            assert_eq!(element(doc, smtp, "Server"), "smtp.isp.example");
            if port == 587 {
                assert_eq!(element(doc, smtp, "Port"), "587");
                assert_eq!(element(doc, smtp, "AuthRequired"), "on");
                assert_eq!(element(doc, smtp, "UsePOPAuth"), "on");
                assert!(!doc.contains("SMTPLast"));
            } else {
                assert_eq!(element(doc, smtp, "Port"), "25");
                assert_eq!(element(doc, smtp, "AuthRequired"), "off");
                assert_eq!(element(doc, smtp, "SMTPLast"), "on");
            }
        }
        for bad in [
            String::new(),
            "<not xml".to_string(),
            "<Autodiscover><Request></Request></Autodiscover>".to_string(),
            autodiscover_request("someone@elsewhere.example"),
            autodiscover_request("<script>"),
        ] {
            let r = post_xml(&mut web, "/autodiscover/autodiscover.xml", bad.clone()).await;
            assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        }
        let huge = format!(
            "<Autodiscover><Request><EMailAddress>taro@example.jp</EMailAddress>{}</Request></Autodiscover>",
            "x".repeat(1024 * 1024)
        );
        let request = Request::post("/autodiscover/autodiscover.xml")
            .header(header::CONTENT_LENGTH, huge.len())
            .body(Body::from(huge))
            .unwrap();
        assert_eq!(web.send(request).await.status, 413);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_devices_get_a_profile_without_a_password() {
    for port in [587, 0] {
        let mut web = Web::new(sqlite().await, isp(port));
        let r = web
            .get("/guide/mail.mobileconfig?email=taro%40example.jp")
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.headers[header::CONTENT_TYPE],
            "application/x-apple-aspen-config"
        );
        let p = &r.body;
        let key = |k: &str| {
            let at = p
                .find(&format!("<key>{k}</key>"))
                .unwrap_or_else(|| panic!("{k}: {p}"));
            let rest = &p[at + k.len() + 11..];
            let rest = rest.trim_start();
            rest[..rest.find('\n').unwrap()].to_string()
        };
        assert_eq!(
            key("PayloadType"),
            "<string>com.apple.mail.managed</string>"
        );
        assert_eq!(key("EmailAccountType"), "<string>EmailTypePOP</string>");
        assert_eq!(key("EmailAddress"), "<string>taro@example.jp</string>");
        assert_eq!(
            key("IncomingMailServerHostName"),
            "<string>pop.isp.example</string>"
        );
        assert_eq!(
            key("IncomingMailServerPortNumber"),
            "<integer>995</integer>"
        );
        assert_eq!(key("IncomingMailServerUseSSL"), "<true/>");
        assert_eq!(key("OutgoingMailServerUseSSL"), "<true/>");
        assert_eq!(key("IncomingMailServerUsername"), "<string>taro</string>");
        assert_eq!(
            key("OutgoingMailServerHostName"),
            "<string>smtp.isp.example</string>"
        );
        if port == 587 {
            assert_eq!(
                key("OutgoingMailServerAuthentication"),
                "<string>EmailAuthPassword</string>"
            );
            assert_eq!(
                key("OutgoingMailServerPortNumber"),
                "<integer>587</integer>"
            );
        } else {
            assert_eq!(
                key("OutgoingMailServerAuthentication"),
                "<string>EmailAuthNone</string>"
            );
            assert_eq!(key("OutgoingMailServerPortNumber"), "<integer>25</integer>");
        }
        // Apple's password keys are IncomingPassword and OutgoingPassword: neither is there.
        assert!(
            !p.contains("<key>IncomingPassword</key>"),
            "no password inside"
        );
        assert!(
            !p.contains("<key>OutgoingPassword</key>"),
            "no password inside"
        );
        // Fresh UUIDs each time, a stable identifier per address.
        let again = web
            .get("/guide/mail.mobileconfig?email=taro%40example.jp")
            .await;
        let ids = |body: &str| {
            body.match_indices("<key>PayloadUUID</key>")
                .map(|(i, _)| body[i..i + 80].to_string())
                .collect::<Vec<_>>()
        };
        assert_ne!(ids(p), ids(&again.body));
        let identifier = |body: &str| {
            let at = body.rfind("<key>PayloadIdentifier</key>").unwrap();
            body[at..at + 90].to_string()
        };
        assert_eq!(identifier(p), identifier(&again.body));
        assert_eq!(web.get("/guide/mail.mobileconfig").await.status, 400);
        assert_eq!(
            web.get("/guide/mail.mobileconfig?email=x%40elsewhere.example")
                .await
                .status,
            400
        );
        // The two guides that use it offer it; the others say what their program does.
        let iphone = web.get("/guide/iphone?lang=en").await;
        assert!(iphone.body.contains("action=\"/guide/mail.mobileconfig\""));
        let thunderbird = web.get("/guide/thunderbird?lang=en").await;
        assert!(thunderbird.body.contains("autoconfig"));
        let outlook = web.get("/guide/outlook?lang=en").await;
        assert!(outlook.body.contains("Autodiscover"));
        done(web).await;
    }
}

/// Every setup document follows what `[service]` says the mail server offers: implicit TLS,
/// STARTTLS, or plain text only where nothing else is offered, with the ports of each mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_documents_follow_the_servers_tls() {
    use relaydesk::config::Tls;
    // (pop_tls, imap_tls, submission_tls): pop port, its socketType / Encryption / UseSSL,
    // imap port, submission port and its socketType / Encryption.
    let cases = [
        (
            (Tls::Implicit, Tls::Implicit, Tls::Starttls),
            ("995", "SSL", "SSL", "<true/>"),
            "993",
            ("587", "STARTTLS", "TLS"),
        ),
        (
            (Tls::Starttls, Tls::Starttls, Tls::Implicit),
            ("110", "STARTTLS", "TLS", "<true/>"),
            "143",
            ("465", "SSL", "SSL"),
        ),
        (
            (Tls::None, Tls::None, Tls::None),
            ("110", "plain", "None", "<false/>"),
            "143",
            ("587", "plain", "None"),
        ),
    ];
    for ((pop, imap, sub), (pop_port, socket, encryption, use_ssl), imap_port, out) in cases {
        let mut config = isp(587);
        config.service.pop_tls = pop;
        config.service.imap_tls = imap;
        config.service.submission_tls = sub;
        let mut web = Web::new(sqlite().await, config);
        let label = format!("{pop:?}/{imap:?}/{sub:?}");
        let tb = web.get("/mail/config-v1.1.xml").await.body;
        assert_eq!(element(&tb, r#"type="pop3""#, "port"), pop_port, "{label}");
        assert_eq!(
            element(&tb, r#"type="pop3""#, "socketType"),
            socket,
            "{label}"
        );
        assert_eq!(element(&tb, r#"type="imap""#, "port"), imap_port, "{label}");
        let smtp = r#"<outgoingServer type="smtp">"#;
        assert_eq!(element(&tb, smtp, "port"), out.0, "{label}");
        assert_eq!(element(&tb, smtp, "socketType"), out.1, "{label}");
        let ad = post_xml(
            &mut web,
            "/autodiscover/autodiscover.xml",
            autodiscover_request("taro@example.jp"),
        )
        .await
        .body;
        assert_eq!(
            element(&ad, "<Type>POP3</Type>", "Port"),
            pop_port,
            "{label}"
        );
        assert_eq!(
            element(&ad, "<Type>POP3</Type>", "Encryption"),
            encryption,
            "{label}"
        );
        assert_eq!(element(&ad, "<Type>SMTP</Type>", "Port"), out.0, "{label}");
        assert_eq!(
            element(&ad, "<Type>SMTP</Type>", "Encryption"),
            out.2,
            "{label}"
        );
        let profile = web
            .get("/guide/mail.mobileconfig?email=taro%40example.jp")
            .await
            .body;
        let at = profile.find("<key>IncomingMailServerUseSSL</key>").unwrap();
        assert!(
            profile[at..]
                .trim_start_matches("<key>IncomingMailServerUseSSL</key>")
                .trim_start()
                .starts_with(use_ssl),
            "{label}"
        );
        assert!(
            profile.contains(&format!(
                "<key>IncomingMailServerPortNumber</key>\n      <integer>{pop_port}</integer>"
            )),
            "{label}: {profile}"
        );
        done(web).await;
    }
}

/// A wrong domain in the profile form is a 400 page that tells the visitor, in their language,
/// what to enter instead; the developer's field text is not shown to customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_address_gets_a_page_that_says_what_to_enter() {
    let mut web = Web::new(sqlite().await, isp(587));
    for (lang, words) in [
        ("en", "enter your @example.jp address"),
        ("ja", "@example.jp のメールアドレスを入力してください"),
    ] {
        let r = web
            .get(&format!(
                "/guide/mail.mobileconfig?email=taro%40elsewhere.example&lang={lang}"
            ))
            .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains(words), "{lang}: {}", r.body);
        assert!(
            !r.body.contains("email: not an address"),
            "{lang}: {}",
            r.body
        );
        assert!(r.body.contains("data-request-id"), "{lang}");
    }
    done(web).await;
}

/// `openssl ARGS…` in `dir`, which must succeed; its standard output.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian's openssl package; scripts/test-all installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_certificate_signs_the_apple_profile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A signing certificate issued by the ISP's own CA (RSA, its key in PKCS #1), and a
    // self-signed P-256 one (PKCS #8).
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Example Net CA",
        ],
    );
    openssl(d, &["genrsa", "-traditional", "-out", "rsa.key", "2048"]);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "rsa.key",
            "-out",
            "rsa.csr",
            "-subj",
            "/O=Example Net/CN=Example Net profile signing",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "rsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "rsa.pem",
            "-days",
            "30",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ec.key",
            "-out",
            "ec.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Example Net profiles",
        ],
    );
    for (cert, key, trust) in [
        ("rsa.pem", "rsa.key", "ca.pem"),
        ("ec.pem", "ec.key", "ec.pem"),
    ] {
        let mut config = isp(587);
        config.service.profile_certificate = d.join(cert).display().to_string();
        config.service.profile_key = d.join(key).display().to_string();
        let mut web = Web::new(sqlite().await, config);
        let r = web
            .get("/guide/mail.mobileconfig?email=taro%40example.jp")
            .await;
        assert_eq!(r.status, 200, "{cert}: {}", r.body);
        assert_eq!(
            r.headers[header::CONTENT_TYPE],
            "application/x-apple-aspen-config"
        );
        assert_eq!(r.bytes[0], 0x30, "{cert}: DER, not the plist");
        std::fs::write(d.join("profile.der"), &r.bytes).unwrap();
        // OpenSSL checks the signature, the digest and the chain to the trusted certificate,
        // and gives back the plist that was signed.
        let plist = openssl(
            d,
            &[
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                "profile.der",
                "-CAfile",
                trust,
                "-purpose",
                "any",
            ],
        );
        let plist = String::from_utf8(plist).unwrap();
        assert!(plist.starts_with("<?xml"), "{cert}: {plist}");
        assert!(
            plist.contains("<string>taro@example.jp</string>"),
            "{plist}"
        );
        assert!(
            plist.contains("<string>pop.isp.example</string>"),
            "{plist}"
        );
        // PKCS #7 readers (what Apple's devices are) see the signer and its certificate.
        let printed = openssl(
            d,
            &[
                "pkcs7",
                "-inform",
                "DER",
                "-in",
                "profile.der",
                "-print_certs",
                "-noout",
            ],
        );
        let printed = String::from_utf8_lossy(&printed);
        assert!(printed.contains("Example Net"), "{printed}");
        // Not trusted without its CA: the signature is of that certificate, not any.
        let other = tempfile::tempdir().unwrap();
        openssl(
            other.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "k",
                "-out",
                "c.pem",
                "-days",
                "1",
                "-subj",
                "/CN=someone else",
            ],
        );
        let refused = std::process::Command::new("openssl")
            .args(["cms", "-verify", "-inform", "DER", "-in"])
            .arg(d.join("profile.der"))
            .args(["-CAfile", "c.pem", "-purpose", "any"])
            .current_dir(other.path())
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "{cert} verified against a stranger"
        );
        done(web).await;
    }

    // A key that is not the certificate's, or a missing file, is named by `relaydesk check`
    // (and stops `serve`), never an unsigned profile served in silence.
    let mut config = isp(587);
    config.service.profile_certificate = d.join("rsa.pem").display().to_string();
    config.service.profile_key = d.join("ec.key").display().to_string();
    let err = relaydesk::cms::Signer::from_config(&config.service).unwrap_err();
    assert!(err.to_string().contains("is not the key of"), "{err}");
    let problems = relaydesk::check::run(&config, "relaydesk.toml", &Default::default()).await;
    assert!(
        problems.iter().any(|p| p
            .to_string()
            .starts_with("relaydesk.toml: service.profile_key: ")
            && p.to_string().contains("is not the key of")),
        "{problems:?}"
    );
    config.service.profile_key = String::new();
    let err = relaydesk::cms::Signer::from_config(&config.service).unwrap_err();
    assert!(
        err.to_string().contains("without service.profile_key"),
        "{err}"
    );
    config.service.profile_key = d.join("missing.key").display().to_string();
    assert!(relaydesk::cms::Signer::from_config(&config.service).is_err());
}
