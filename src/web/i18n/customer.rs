//! (key, Japanese, English): the words of the customer site: connection states, the front page, refusals.

pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "home.title",
        "メールを送信できるか確認",
        "Can I send mail now?",
    ),
    (
        "home.your_ip",
        "お使いの接続のアドレス",
        "Your connection's address",
    ),
    ("state.authorized", "送信できます", "You can send mail"),
    (
        "state.authorized.detail",
        "{login_at} の受信確認により、{until} まで送信できます。",
        "Mail was checked at {login_at}: you can send until {until}.",
    ),
    (
        "state.authorized.staff",
        "サポートによる一時的な許可で、{until} まで送信できます。",
        "A temporary permission from support lets you send until {until}.",
    ),
    (
        "state.authorized.store",
        "メールサーバーの送信許可リストにこの接続が載っているため、送信できます。",
        "The mail server's list of connections allowed to send holds this one: you can send.",
    ),
    (
        "state.not_in_store",
        "受信は成功しましたが、送信の許可がまだ届いていません",
        "Your mail check worked, but the permission to send has not arrived",
    ),
    (
        "state.not_in_store.detail",
        "{login_at} の受信は成功しましたが、メールサーバーの送信許可リストにこの接続が載っていません。お客様の設定ではなく、こちらの設備の問題です。",
        "Your mail check at {login_at} worked, but the mail server's list of connections allowed to send does not hold this one. This is a fault on our side, not in your settings.",
    ),
    (
        "state.not_in_store.fix",
        "1 分ほど待ってからもう一度受信し、送信してください。続く場合は {contact} までご連絡ください。",
        "Wait a minute, receive again, then send. If it goes on, please contact {contact}.",
    ),
    (
        "state.expired",
        "送信の許可が切れています",
        "Your permission to send has expired",
    ),
    (
        "state.expired.detail",
        "最後の受信は {login_at} でした。送信できるのは受信から {window} 分間のため、{until} に期限が切れました。",
        "Your last mail check was at {login_at}. Sending is allowed for {window} minutes after a check, so it ended at {until}.",
    ),
    (
        "state.expired.fix",
        "メールソフトで先に受信してから、{window} 分以内に送信してください。",
        "Receive mail in your mail program first, then send within {window} minutes.",
    ),
    (
        "state.never_checked",
        "まだ受信が確認できていません",
        "No mail check from this connection yet",
    ),
    (
        "state.never_checked.detail",
        "この接続からの受信（POP/IMAP ログイン）が確認できないため、送信は許可されていません。",
        "We have not seen a mail check (POP/IMAP login) from this connection, so sending is not allowed.",
    ),
    (
        "state.never_checked.fix",
        "先に受信してから、{window} 分以内に送信してください。",
        "Receive first, then send within {window} minutes.",
    ),
    (
        "state.auth_failed",
        "パスワードが認証されていません",
        "Your password was not accepted",
    ),
    (
        "state.auth_failed.detail",
        "{failure_at} に、この接続からの受信でパスワードが認証されませんでした。",
        "At {failure_at} a mail check from this connection failed: the password was not accepted.",
    ),
    (
        "state.auth_failed.fix",
        "メールソフトのパスワードを入力し直し、受信してから送信してください。",
        "Enter your mail password again in your mail program, receive, then send.",
    ),
    (
        "state.blocked",
        "この接続からの送信は停止されています",
        "Sending from this connection is stopped",
    ),
    (
        "state.blocked.detail",
        "不正な送信を防ぐため、この接続からのメール送信を停止しています。",
        "To stop abuse, sending mail from this connection has been stopped.",
    ),
    (
        "state.blocked.fix",
        "お心当たりがない場合は {contact} までご連絡ください。",
        "If you do not know why, please contact {contact}.",
    ),
    (
        "state.suspended",
        "このアカウントからの送信は停止されています",
        "Sending is stopped for this account",
    ),
    (
        "state.suspended.detail",
        "この接続からの受信（{login_at}）は、送信を停止中のアカウントによるものでした。停止中は受信しても送信は許可されません。",
        "The mail check from this connection at {login_at} was by an account whose sending is stopped: while it is, checking mail does not allow sending.",
    ),
    (
        "state.suspended.fix",
        "{contact} までご連絡ください。",
        "Please contact {contact}.",
    ),
    (
        "state.no_attempt",
        "この接続からの送信はまだ届いていません",
        "No sending attempt from this connection has reached us",
    ),
    (
        "state.no_attempt.detail",
        "この接続からメールサーバーへの送信の試みが記録されていません。ご利用のプロバイダーがポート 25 をふさいでいる（OP25B）可能性があります。",
        "No attempt to send from this connection has reached our mail server. Your access provider may block port 25 (Outbound Port 25 Blocking).",
    ),
    (
        "state.no_attempt.fix",
        "送信サーバー {smtp} のポート {port} と SMTP 認証をお使いください。",
        "Use port {port} with SMTP authentication on the outgoing server {smtp}.",
    ),
    (
        "state.no_attempt.fix_nosub",
        "先に受信してから、{window} 分以内に送信してください。",
        "Receive first, then send within {window} minutes.",
    ),
    (
        "state.lasting_fix",
        "根本的な解決には、ポート {port} の SMTP 認証（SMTP AUTH）への設定変更をおすすめします。",
        "The lasting fix: set your mail program to send with SMTP authentication on port {port}.",
    ),
    ("home.what_to_do", "どうすればよいですか", "What to do"),
    (
        "home.recent",
        "この接続で最近拒否された送信",
        "Recently refused sends from this connection",
    ),
    (
        "home.recent.none",
        "この 24 時間に拒否された送信はありません。",
        "No refused sends in the last 24 hours.",
    ),
    ("home.recent.time", "時刻", "Time"),
    ("home.recent.rcpt", "宛先", "Recipient"),
    ("home.recent.why", "理由", "Why"),
    (
        "home.guides",
        "お使いのメールソフトの設定",
        "Settings for your mail program",
    ),
    (
        "home.guide_for",
        "{client} の設定手順",
        "Steps for {client}",
    ),
    ("home.all_guides", "すべての設定ガイド", "All setup guides"),
    (
        "home.guide_see",
        "{client} の設定を見る",
        "See the settings for {client}",
    ),
    ("home.notices", "お知らせ", "Notices"),
    (
        "nudge.title",
        "SMTP 認証に切り替えると、先に受信しなくても送信できます",
        "Switch to SMTP AUTH and send without checking mail first",
    ),
    (
        "nudge.text",
        "送信サーバー {smtp} のポート {port} で SMTP 認証（メールのユーザー名とパスワード）を使うと、受信の順番や接続のアドレスに関係なく送信できます。",
        "With SMTP AUTH (your mail user name and password) on {smtp}, port {port}, sending no longer depends on checking mail first or on your connection's address.",
    ),
    (
        "nudge.profile",
        "iPhone・iPad・Mac の設定プロファイル",
        "Configuration profile for iPhone, iPad and Mac",
    ),
    (
        "nudge.auto",
        "Thunderbird と Outlook は、メールアドレスを入力するだけで新しい設定を見つけます。",
        "Thunderbird and Outlook find the new settings by themselves from your mail address.",
    ),
    (
        "why.title",
        "送信できなかった理由",
        "Why your message was not sent",
    ),
    ("why.when", "拒否された時刻", "Refused at"),
    ("why.rcpt", "宛先", "Recipient"),
    ("why.cause", "原因", "Cause"),
    ("why.what", "何が起きたか", "What happened"),
    ("why.fix", "どうすればよいか", "What to do"),
    (
        "why.now",
        "いまこの接続から送信できるかは、トップページで確認できます。",
        "Whether this connection can send now is on the front page.",
    ),
    (
        "home.me",
        "ログインすると、ご自分の受信記録と拒否された送信の理由を確認できます。",
        "Sign in to see your own mail checks and why sends were refused.",
    ),
    ("cause.suspended", "停止中", "stopped"),
    (
        "cause.authorized",
        "許可済み（別の原因）",
        "allowed (another cause)",
    ),
    (
        "cause.sent_before_receiving",
        "受信より先に送信した",
        "sent before receiving",
    ),
    ("cause.ip_changed", "アドレスが変わった", "address changed"),
    ("cause.auth_failed", "パスワード不一致", "password failed"),
    ("cause.expired", "許可の期限切れ", "permission expired"),
    (
        "cause.never_checked",
        "受信前の送信",
        "sent before receiving",
    ),
    (
        "cause.unknown_sender",
        "お客様以外の差出人",
        "not a customer's sender",
    ),
];
