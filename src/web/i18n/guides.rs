//! (key, Japanese, English): the words of the setup guides.

pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "guide.title",
        "メールソフトの設定ガイド",
        "Mail program setup guides",
    ),
    (
        "guide.intro",
        "{service} のメールは、先に受信してから送信する仕組み（POP before SMTP）です。お使いのメールソフトを選ぶと、受信のしかたと設定の場所をご案内します。",
        "With {service}, you receive mail first and then send (POP before SMTP). Choose your mail program to see how to receive first and where each setting is.",
    ),
    (
        "guide.pick",
        "メールソフトを選んでください",
        "Choose your mail program",
    ),
    ("guide.for", "{client} の設定", "{client}: how to send"),
    ("guide.settings", "設定する内容", "Your settings"),
    ("guide.tls.implicit", "SSL/TLS", "SSL/TLS"),
    ("guide.tls.starttls", "STARTTLS", "STARTTLS"),
    (
        "guide.tls.none",
        "暗号化なし（このサーバーは暗号化に対応していません）",
        "no encryption (this server offers none)",
    ),
    (
        "guide.pop",
        "受信メールサーバー（POP3）",
        "Incoming mail server (POP3)",
    ),
    (
        "guide.imap",
        "受信メールサーバー（IMAP）",
        "Incoming mail server (IMAP)",
    ),
    (
        "guide.smtp",
        "送信メールサーバー（SMTP）",
        "Outgoing mail server (SMTP)",
    ),
    (
        "guide.window",
        "受信後に送信できる時間",
        "Time to send after receiving",
    ),
    ("guide.window.value", "{window} 分", "{window} minutes"),
    (
        "guide.port",
        "送信ポート（SMTP 認証）",
        "Sending port (SMTP AUTH)",
    ),
    ("guide.contact", "お問い合わせ先", "Support contact"),
    (
        "guide.receive",
        "送信の前に受信する",
        "Receive before you send",
    ),
    (
        "guide.receive.then",
        "受信してから {window} 分以内に送信してください。時間が過ぎたときは、もう一度受信してから送信してください。",
        "Send within {window} minutes of receiving. If more time has passed, receive again, then send.",
    ),
    (
        "guide.hang_up",
        "ダイヤルアップで接続している場合",
        "If you connect by dial-up",
    ),
    (
        "guide.hang_up.why",
        "送受信のたびに回線を切る設定だと、次につないだときに接続のアドレスが変わり、送信が拒否されます。この設定を外してください。",
        "If the program hangs up after each send and receive, your next connection gets a new address and sending is refused. Turn this setting off.",
    ),
    (
        "guide.own_option",
        "{client} の POP before SMTP 設定",
        "{client}'s own POP before SMTP setting",
    ),
    (
        "guide.own_option.none",
        "{client} には POP before SMTP 用の設定はありません。上の手順で、先に受信してください。",
        "{client} has no POP before SMTP setting of its own. Receive first as shown above.",
    ),
    (
        "guide.smtp_auth",
        "根本的な解決: SMTP 認証",
        "The lasting fix: SMTP AUTH",
    ),
    (
        "guide.smtp_auth.why",
        "送信のときにメール ID とパスワードで確認する SMTP 認証を、送信サーバー {smtp} のポート {port} で使うと、受信の順番や時間を気にせず送信できます。ご利用のプロバイダーがポート 25 をふさいでいる（OP25B）場合や、外出先のネットワークからでも送信できます。",
        "With SMTP authentication on port {port} of {smtp}, your program gives your mail ID and password when it sends, so the order and the time no longer matter. It also works when your access provider blocks port 25 (OP25B), and on networks away from home.",
    ),
    ("guide.note", "ご注意", "Good to know"),
    (
        "guide.still",
        "それでも送信できないときは、トップページで接続の状態を確認するか、{contact} までご連絡ください。",
        "If sending still fails, check your connection on the start page, or contact {contact}.",
    ),
    (
        "guide.check",
        "いまの接続で送信できるか確認",
        "Check whether I can send now",
    ),
    ("guide.others", "ほかのメールソフト", "Other mail programs"),
];
