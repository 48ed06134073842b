//! From a stored rejection to an answer a customer understands: gathers the evidence from the
//! store, runs the one `diagnose` function, and words the result with its fix in Japanese and
//! English. Every surface (CLI, pages, API) calls `diagnose_rejection` and `explain`.

use serde::Serialize;

use crate::config::Config;
use crate::diagnose::{self, Audience, Cause, Diagnosis, Rules};
use crate::domain::{ClientIp, Epoch};
use crate::store::{self, Conn, evidence, rejections::StoredRejection};
use crate::time;

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

pub fn rules(config: &Config) -> Rules {
    Rules {
        window: config.relay.window.0,
        lookback: config.relay.lookback.0,
    }
}

/// The owner login of a sender address, by the §6.2 rule.
pub async fn owner_of(
    conn: &mut Conn,
    sender: &str,
    config: &Config,
) -> store::Result<Option<String>> {
    if crate::domain::domain_of(sender).is_none_or(|d| !config.relay.is_customer_domain(&d)) {
        return Ok(None);
    }
    let accounts = evidence::account_owner(conn, sender).await?;
    Ok(diagnose::owner(
        sender,
        &config.relay.login_rule(),
        accounts,
    ))
}

/// The sender addresses a login may use: the login itself when it is an address, else
/// `login@domain` for each customer domain. (Whether each is really the login's, by the §6.2
/// owner rule, is `owner_of`'s to say.)
pub fn candidate_senders(login: &str, config: &Config) -> Vec<String> {
    if login.contains('@') {
        return vec![login.to_string()];
    }
    config
        .relay
        .customer_domains
        .iter()
        .map(|d| format!("{login}@{d}"))
        .collect()
}

/// Diagnoses one stored relay rejection. `logs_since` is `store::ingest::logs_since`, read once
/// per report.
pub async fn diagnose_rejection(
    conn: &mut Conn,
    config: &Config,
    rejection: &StoredRejection,
    logs_since: Option<Epoch>,
) -> store::Result<Diagnosis> {
    let ip: ClientIp = rejection
        .ip
        .parse()
        .map_err(|e| store::StoreError::Other(format!("stored rejection {}: {e}", rejection.id)))?;
    diagnose_refusal(
        conn,
        config,
        rejection.at,
        ip,
        &rejection.sender,
        logs_since,
        Audience::Staff,
    )
    .await
}

/// Diagnoses a refused relay at `at` from `ip` with envelope `sender` (a stored rejection, or a
/// policy decision the `/why` page explains) as `audience` may be told it.
pub async fn diagnose_refusal(
    conn: &mut Conn,
    config: &Config,
    at: Epoch,
    ip: ClientIp,
    sender: &str,
    logs_since: Option<Epoch>,
    audience: Audience,
) -> store::Result<Diagnosis> {
    let owner = owner_of(conn, sender, config).await?;
    let ev = evidence::gather(conn, at, ip, owner.as_deref(), rules(config), logs_since).await?;
    Ok(audience.diagnose(at, &ip.to_string(), owner.as_deref(), &ev, rules(config)))
}

/// A diagnosis in words: what happened, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub lang: Lang,
    pub cause: Cause,
    pub what: String,
    pub fix: String,
}

impl Explanation {
    /// One paragraph, ready to paste into a reply.
    pub fn text(&self) -> String {
        format!("{} {}", self.what, self.fix)
    }
}

/// `explain`, with the mail-program tips of the fix narrowed to the reader's program (`client`,
/// a guide's slug, as the browser suggests it): an iPhone user is not told about Outlook
/// Express. Unknown program: the general advice alone.
pub fn explain_for_client(
    d: &Diagnosis,
    lang: Lang,
    config: &Config,
    client: Option<&str>,
) -> Explanation {
    let mut e = explain(d, lang, config);
    if !matches!(d.cause, Cause::NeverChecked | Cause::SentBeforeReceiving) {
        return e;
    }
    let w = config.window_minutes();
    let general = match lang {
        Lang::En => format!("Receive first, then send within {w} minutes."),
        Lang::Ja => format!("先に受信してから、{w} 分以内に送信してください。"),
    };
    let tip = match (client, lang) {
        (Some("outlook-express" | "windows-live-mail"), Lang::En) => {
            " Its Send/Receive button sends first: use Send/Receive ▼ → Receive All, and untick \
             \"Send messages immediately\" under Tools → Options → Send."
        }
        (Some("outlook-express" | "windows-live-mail"), Lang::Ja) => {
            "「送受信」ボタンは先に送信します。「送受信 ▼」→「すべて受信」を使い、「オプション」→「送信」の「メッセージを直ちに送信する」のチェックを外してください。"
        }
        (Some("becky"), Lang::En) => {
            " Turn on \"POP before SMTP\" in the account's Advanced settings: Becky! then receives before it sends."
        }
        (Some("becky"), Lang::Ja) => {
            "アカウントの「詳細」で「POP before SMTP」を有効にすると、送信の前に受信します。"
        }
        (Some("thunderbird"), Lang::En) => " Click Get Messages before you send.",
        (Some("thunderbird"), Lang::Ja) => "送信の前に「受信」を押してください。",
        (Some("iphone" | "apple-mail"), Lang::En) => {
            " Open the inbox and pull down to check mail, then send."
        }
        (Some("iphone" | "apple-mail"), Lang::Ja) => {
            "受信ボックスを開いて下に引き、メールを確認してから送信してください。"
        }
        _ => "",
    };
    let lasting = e.fix.find(match lang {
        Lang::En => " The lasting fix",
        Lang::Ja => " 根本的な解決",
    });
    let rest = lasting.map(|i| e.fix[i..].to_string()).unwrap_or_default();
    e.fix = format!("{general}{tip}{rest}");
    e
}

/// Words `d` in `lang`, with times in the configured zone and the configured service details.
pub fn explain(d: &Diagnosis, lang: Lang, config: &Config) -> Explanation {
    // Today's times read as a bare clock: "today" is when the words are read.
    let now = chrono::Utc::now().timestamp();
    let hm = |t: Option<Epoch>| {
        t.map(|t| time::clock(t, config.timezone.0, now))
            .unwrap_or_else(|| "?".into())
    };
    let e = &d.evidence;
    let w = config.window_minutes();
    // Left out where the reader must not learn other connections (the /why page).
    let other_ip = e.login_ip.clone();
    let other_en = other_ip
        .as_ref()
        .map(|ip| format!(" ({ip})"))
        .unwrap_or_default();
    let other_ja = other_ip.map(|ip| format!("（{ip}）")).unwrap_or_default();
    let reason = e
        .restriction
        .as_ref()
        .map(|r| r.reason.clone())
        .unwrap_or_default();
    let contact = &config.service.support_contact;
    let (what, mut fix) = match (lang, d.cause) {
        (Lang::En, Cause::Suspended) => (
            format!("Sending is stopped for this connection or account ({reason})."),
            format!("Please contact {contact}."),
        ),
        (Lang::Ja, Cause::Suspended) => (
            format!("この接続またはアカウントからの送信は停止されています（{reason}）。"),
            format!("{contact} までお問い合わせください。"),
        ),
        (Lang::En, Cause::Authorized) => (
            format!(
                "Mail was checked from this address at {}, so sending should have been allowed; \
                 the refusal had another cause.",
                hm(e.login_at)
            ),
            format!("Please tell {contact} the time of the error message."),
        ),
        (Lang::Ja, Cause::Authorized) => (
            format!(
                "{} にこのアドレスから受信が確認されており、送信は許可されているはずでした。別の原因が考えられます。",
                hm(e.login_at)
            ),
            format!("エラーが出た時刻を {contact} までお知らせください。"),
        ),
        (Lang::En, Cause::SentBeforeReceiving) => (
            format!(
                "The message was sent before mail was checked: this address checked mail at {}, \
                 just after the refused send. Your mail program sends first, then receives.",
                hm(e.login_at)
            ),
            "Receive first, then send. In Outlook Express and Windows Live Mail use Send/Receive \
             ▼ → Receive All (the Send/Receive button sends first), and untick \"Send messages \
             immediately\" under Tools → Options → Send. In Becky! Internet Mail, turn on \
             \"POP before SMTP\" in the account's Advanced settings; in Thunderbird, click Get \
             Messages before Send."
                .to_string(),
        ),
        (Lang::Ja, Cause::SentBeforeReceiving) => (
            format!(
                "受信より先に送信されました。このアドレスからの受信は、拒否された送信の直後の {} でした。お使いのメールソフトは先に送信し、その後に受信しています。",
                hm(e.login_at)
            ),
            "先に受信してから送信してください。Outlook Express と Windows Live Mail では「送受信」ボタンが先に送信するため「送受信 ▼」→「すべて受信」を使い、「オプション」→「送信」の「メッセージを直ちに送信する」のチェックを外してください。Becky! Internet Mail ではアカウントの「詳細」で「POP before SMTP」を有効にし、Thunderbird では「受信」を押してから送信してください。"
                .to_string(),
        ),
        (Lang::En, Cause::IpChanged) => (
            format!(
                "Mail was checked at {} from another address{other_en}, but the message was sent \
                 from {}: the connection changed its address between receiving and sending.",
                hm(e.login_at),
                d.ip
            ),
            "Check mail (receive) again just before sending, on the same connection. On dial-up, \
             untick \"Hang up after sending and receiving\"."
                .to_string(),
        ),
        (Lang::Ja, Cause::IpChanged) => (
            format!(
                "{} に別のアドレス{other_ja}から受信していますが、送信は {} からでした。受信と送信の間に接続のアドレスが変わっています。",
                hm(e.login_at),
                d.ip
            ),
            "送信の直前に、同じ接続のまま受信してから送信してください。ダイヤルアップの場合は「送受信後に切断する」のチェックを外してください。"
                .to_string(),
        ),
        (Lang::En, Cause::AuthFailed) => (
            format!(
                "The mail check at {} failed: the password was not accepted, so sending was not allowed.",
                hm(e.failure_at)
            ),
            "Enter your mail password again in your mail program, receive, then send.".to_string(),
        ),
        (Lang::Ja, Cause::AuthFailed) => (
            format!(
                "{} の受信でパスワードが認証されなかったため、送信が許可されませんでした。",
                hm(e.failure_at)
            ),
            "メールソフトのパスワードを入力し直し、受信してから送信してください。".to_string(),
        ),
        (Lang::En, Cause::Expired) => (
            format!(
                "The last mail check from this address was at {}; sending is allowed for {w} \
                 minutes after a check, so it ended at {}.",
                hm(e.login_at),
                hm(e.expired_at)
            ),
            format!("Check mail (receive) first, then send within {w} minutes."),
        ),
        (Lang::Ja, Cause::Expired) => (
            format!(
                "このアドレスからの最後の受信は {} でした。送信できるのは受信から {w} 分間のため、{} に期限が切れていました。",
                hm(e.login_at),
                hm(e.expired_at)
            ),
            format!("先に受信してから、{w} 分以内に送信してください。"),
        ),
        (Lang::En, Cause::NeverChecked) => (
            "No mail check from this address was seen before sending.".to_string(),
            format!(
                "Receive first, then send within {w} minutes. In Outlook Express use \
                 Send/Receive ▼ → Receive All: its Send/Receive button sends first."
            ),
        ),
        (Lang::Ja, Cause::NeverChecked) => (
            "送信の前に、このアドレスからの受信が確認できませんでした。".to_string(),
            format!(
                "先に受信してから、{w} 分以内に送信してください。Outlook Express では「送受信」ボタンが先に送信するため、「送受信 ▼」→「すべて受信」を使ってください。"
            ),
        ),
        (Lang::En, Cause::UnknownSender) => (
            "The sender address is not one of our customers' addresses, so relaying was refused."
                .to_string(),
            format!(
                "If this is your mail, set your own {} address as the sender.",
                config.relay.customer_domains.first().map_or("", String::as_str)
            ),
        ),
        (Lang::Ja, Cause::UnknownSender) => (
            "差出人アドレスが当社のお客様のアドレスではないため、中継が拒否されました。".to_string(),
            format!(
                "お客様のメールであれば、差出人に {} のアドレスを設定してください。",
                config.relay.customer_domains.first().map_or("", String::as_str)
            ),
        ),
    };
    let port = config.service.submission_port_used();
    if port > 0
        && !matches!(
            d.cause,
            Cause::Suspended | Cause::UnknownSender | Cause::Authorized
        )
    {
        fix.push_str(&match lang {
            Lang::En => format!(" The lasting fix: send with SMTP AUTH on port {port}."),
            Lang::Ja => format!(
                " 根本的な解決には、ポート {port} の SMTP 認証（SMTP AUTH）をお使いください。"
            ),
        });
    }
    if e.logs_incomplete {
        fix.push_str(match lang {
            Lang::En => " (Our records do not reach back far enough to be sure.)",
            Lang::Ja => "（記録が十分にさかのぼれないため、確実ではありません。）",
        });
    }
    Explanation {
        lang,
        cause: d.cause,
        what,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Found;

    fn diagnosis(cause: Cause) -> Diagnosis {
        Diagnosis {
            cause,
            at: 1_000_000,
            ip: "203.0.113.7".into(),
            login: Some("taro".into()),
            evidence: Found {
                login_at: Some(990_000),
                login_ip: Some("198.51.100.4".into()),
                expired_at: Some(991_800),
                failure_at: Some(999_000),
                ..Found::default()
            },
        }
    }

    #[test]
    fn every_cause_is_explained_in_both_languages_with_a_fix() {
        let config = Config::default();
        for cause in Cause::ALL {
            for lang in [Lang::Ja, Lang::En] {
                let e = explain(&diagnosis(cause), lang, &config);
                assert!(
                    !e.what.is_empty() && !e.fix.is_empty(),
                    "{cause:?} {lang:?}"
                );
                let japanese = e.text().chars().any(|c| {
                    ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c)
                });
                assert_eq!(
                    japanese,
                    lang == Lang::Ja,
                    "{cause:?} {lang:?}: {}",
                    e.text()
                );
            }
        }
    }

    #[test]
    fn an_ip_change_names_both_addresses_and_the_lasting_fix() {
        let e = explain(&diagnosis(Cause::IpChanged), Lang::En, &Config::default());
        assert!(
            e.what.contains("198.51.100.4") && e.what.contains("203.0.113.7"),
            "{}",
            e.what
        );
        assert!(e.fix.contains("587"), "{}", e.fix);
        let mut config = Config::default();
        config.service.submission_port = 0;
        assert!(
            !explain(&diagnosis(Cause::IpChanged), Lang::En, &config)
                .fix
                .contains("587")
        );
    }

    #[test]
    fn a_login_owns_its_addresses_in_customer_domains() {
        let config =
            Config::from_toml("[relay]\ncustomer_domains = [\"example.jp\", \"Example.NET\"]")
                .unwrap();
        assert_eq!(
            candidate_senders("taro", &config),
            ["taro@example.jp", "taro@example.net"]
        );
        assert_eq!(
            candidate_senders("taro@example.jp", &config),
            ["taro@example.jp"]
        );
    }

    #[test]
    fn expiry_is_told_with_the_window() {
        let e = explain(&diagnosis(Cause::Expired), Lang::Ja, &Config::default());
        assert!(e.what.contains("30 分"), "{}", e.what);
    }
}
