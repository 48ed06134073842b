//! (key, Japanese, English): the words of `/me`.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("me.title", "マイページ", "My account"),
    ("me.signed_in_as", "ログイン中の ID", "Signed in as"),
    ("me.now", "現在の送信の許可", "Permission to send now"),
    (
        "me.now.authorized",
        "{ip} から {until} まで送信できます。",
        "You can send from {ip} until {until}.",
    ),
    (
        "me.now.authorized_store",
        "{ip} から送信できます（メールサーバーの送信許可リストに載っている間）。",
        "You can send from {ip} (for as long as the mail server's list of connections allowed to send holds it).",
    ),
    (
        "me.now.never_checked",
        "いま送信が許可されているアドレスはありません。メールソフトで受信すると、そのアドレスから送信できるようになります。",
        "No address of yours may send right now. Receive mail in your mail program, and its address may send.",
    ),
    (
        "me.now.expired",
        "送信の許可は {until} に切れました。メールソフトで受信すると、そのアドレスから再び送信できます。",
        "Your permission to send ended at {until}. Receive mail in your mail program, and its address may send again.",
    ),
    (
        "me.now.auth_failed",
        "{at} の受信でパスワードが認証されませんでした。メールソフトのパスワードを確かめてから受信してください。",
        "Your mail check at {at} failed: the password was not accepted. Check the password in your mail program, then receive.",
    ),
    (
        "me.now.suspended",
        "このアカウントからの送信は停止されています。サポートまでご連絡ください。",
        "Sending is stopped for this account. Please contact support.",
    ),
    (
        "me.now.blocked",
        "最後に受信したアドレスからの送信は停止されています。サポートまでご連絡ください。",
        "Sending from the address of your last mail check is stopped. Please contact support.",
    ),
    (
        "me.now.no_attempt",
        "いま送信が許可されているアドレスはありません。メールソフトで受信すると、そのアドレスから送信できるようになります。",
        "No address of yours may send right now. Receive mail in your mail program, and its address may send.",
    ),
    (
        "me.now.not_in_store",
        "受信は成功しましたが、メールサーバーの送信許可リストにまだ載っていません。こちらの設備の問題です。続く場合はサポートまでご連絡ください。",
        "Your mail check worked, but the mail server's list of connections allowed to send does not hold your address yet. This is a fault on our side; if it goes on, please contact support.",
    ),
    ("me.address", "アドレス", "Address"),
    ("me.state", "状態", "State"),
    ("me.until", "期限", "Until"),
    (
        "me.checks",
        "最近の受信（メールの確認）",
        "Recent mail checks",
    ),
    ("me.checks.none", "記録がありません。", "None recorded."),
    ("me.time", "時刻", "Time"),
    ("me.protocol", "方式", "Protocol"),
    ("me.result", "結果", "Result"),
    ("me.check.ok", "成功（{count} 回）", "OK ({count} logins)"),
    ("me.check.failed", "パスワード不一致", "Password failed"),
    ("me.ips", "使われたアドレス", "Addresses you used"),
    ("me.first", "最初", "First"),
    ("me.last", "最後", "Last"),
    ("me.logins", "回数", "Logins"),
    ("me.refusals", "拒否された送信", "Refused sends"),
    (
        "me.refusals.none",
        "この 30 日間に拒否された送信はありません。",
        "No refused sends in the last 30 days.",
    ),
    ("me.rcpt", "宛先", "Recipient"),
    ("me.why", "理由", "Why"),
    ("me.fix", "対処", "What to do"),
    (
        "me.everywhere",
        "すべての端末でログアウトする",
        "Sign out on every device",
    ),
];
