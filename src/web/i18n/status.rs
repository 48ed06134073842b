//! (key, Japanese, English): the words of the status page.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("status.title", "稼働状況", "Service status"),
    ("status.updated", "確認時刻", "Checked at"),
    ("status.components", "サービスごとの状況", "Components"),
    (
        "status.events",
        "障害・メンテナンス情報",
        "Incidents and maintenance",
    ),
    (
        "status.events.none",
        "現在、発生中の障害や予定されているメンテナンスはありません。",
        "There are no open incidents or planned maintenance.",
    ),
    ("status.charts", "この 24 時間の推移", "The last 24 hours"),
    (
        "status.chart.logins",
        "1 時間ごとの受信確認（ログイン成功）",
        "Mail checks per hour (successful logins)",
    ),
    (
        "status.chart.rejections",
        "1 時間ごとの拒否された中継",
        "Refused relay attempts per hour",
    ),
    (
        "status.overall.operational",
        "すべて正常に動作しています",
        "Everything is working",
    ),
    (
        "status.overall.degraded",
        "一部で問題が起きています",
        "Some parts have problems",
    ),
    (
        "status.overall.outage",
        "障害が発生しています",
        "There is an outage",
    ),
    ("status.state.operational", "正常", "Operational"),
    ("status.state.degraded", "一部に問題", "Degraded"),
    ("status.state.outage", "停止", "Outage"),
    ("status.state.not_used", "未使用", "Not used here"),
    (
        "status.component.relay_authorization",
        "送信の許可（POP before SMTP）",
        "Relay authorization (POP before SMTP)",
    ),
    (
        "status.component.mailbox_logins",
        "受信（メールボックスへのログイン）",
        "Mailbox logins",
    ),
    (
        "status.component.log_freshness",
        "記録の取り込み",
        "Log freshness",
    ),
    (
        "status.component.policy_service",
        "送信許可サービス",
        "Policy service",
    ),
    (
        "status.component.relay_store",
        "送信許可リスト（メールサーバー側）",
        "Relay store (the mail server's list)",
    ),
    (
        "status.store.ok",
        "送信許可リストは正常に読み取れています（{held} 件の接続を許可中）。",
        "The relay store is read on time ({held} connections may send).",
    ),
    (
        "status.store.unread",
        "送信許可リストをまだ読み取れていません。",
        "The relay store has not been read yet.",
    ),
    (
        "status.store.stale",
        "送信許可リストを {minutes} 分間読み取れていません。",
        "The relay store has not been read for {minutes} minutes.",
    ),
    (
        "status.store.failing",
        "送信許可リストの読み取りに失敗しています。直前の内容（{held} 件）で判断しています。",
        "Reading the relay store fails; its last contents ({held} connections) still stand.",
    ),
    (
        "status.store.missed",
        "この 30 分間に、受信に成功した {count} 件の接続が送信許可リストに載りませんでした。",
        "In the last 30 minutes, {count} successful mail checks never reached the relay store.",
    ),
    (
        "status.relay.not_used",
        "ここでは送信の許可に relaydesk の送信許可サービスを使っていません。",
        "Relaying is not authorized through relaydesk's policy service here.",
    ),
    (
        "status.relay.ok",
        "この 30 分間に {allowed} 件の送信を許可し、{refused} 件をお断りしました。",
        "In the last 30 minutes, {allowed} sends were allowed and {refused} refused.",
    ),
    (
        "status.relay.none_allowed",
        "この 30 分間は送信の許可が 0 件で、{refused} 件をお断りしています。",
        "No send was allowed in the last 30 minutes, and {refused} were refused.",
    ),
    (
        "status.logins.ok",
        "この 30 分間の受信確認は {sessions} 件、パスワードの失敗は {failures} 件です（前日の同じ時間帯は {usual} 件）。",
        "In the last 30 minutes: {sessions} mail checks and {failures} failed passwords (the same time yesterday: {usual}).",
    ),
    (
        "status.logins.none",
        "この 30 分間、受信確認が 1 件も記録されていません（前日の同じ時間帯は {usual} 件）。",
        "No mail check was seen in the last 30 minutes (the same time yesterday: {usual}).",
    ),
    (
        "status.logins.few",
        "受信確認がいつもより少なくなっています: この 30 分間で {sessions} 件（前日の同じ時間帯は {usual} 件）。",
        "Fewer mail checks than usual: {sessions} in the last 30 minutes (the same time yesterday: {usual}).",
    ),
    (
        "status.logins.failing",
        "パスワードの失敗が多くなっています: この 30 分間で {failures} 件。",
        "Many failed passwords: {failures} in the last 30 minutes.",
    ),
    (
        "status.logs.ok",
        "メールサーバーの記録は {minutes} 分前まで取り込まれています。",
        "Mail server logs are read up to {minutes} minutes ago.",
    ),
    (
        "status.logs.none",
        "メールサーバーの記録をまだ取り込んでいません。",
        "No mail server log has been read yet.",
    ),
    (
        "status.logs.stale",
        "記録の取り込みが遅れています: 最新の記録は {minutes} 分前です。",
        "Logs are behind: the newest entry is {minutes} minutes old.",
    ),
    (
        "status.logs.stopped",
        "記録の取り込みが止まっています: 最新の記録は {minutes} 分前です。",
        "Reading logs has stopped: the newest entry is {minutes} minutes old.",
    ),
    (
        "status.logs.failing",
        "{failing} か所の記録の読み込みで問題が起きています。",
        "Reading {failing} of the log sources failed recently.",
    ),
    (
        "status.policy.ok",
        "メールサーバーからの問い合わせに応答しています。",
        "It answers the mail server.",
    ),
    (
        "status.policy.not_used",
        "ここでは使用していません。",
        "Not used here.",
    ),
    (
        "status.policy.unreachable",
        "この 30 分間に {count} 回、メールサーバーが送信許可サービスに接続できませんでした。",
        "The mail server could not reach it {count} times in the last 30 minutes.",
    ),
];
