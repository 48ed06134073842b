//! (key, Japanese, English): the words of notices and incidents.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("notices.title", "お知らせ", "Notices"),
    (
        "notices.none",
        "現在お知らせはありません。",
        "There are no notices.",
    ),
    ("notices.feed", "Atom フィード", "Atom feed"),
    (
        "notices.feed_title",
        "{service} のお知らせ",
        "{service} notices",
    ),
    ("notices.published", "掲載日時", "Published"),
    ("notices.updated", "最終更新", "Last updated"),
    ("notices.period", "期間", "When"),
    ("notices.status", "状況", "Status"),
    ("notices.all", "お知らせ一覧", "All notices"),
    (
        "notices.open",
        "発生中の障害・予定のメンテナンス",
        "Open incidents and planned maintenance",
    ),
    ("kind.notice", "お知らせ", "Notice"),
    ("kind.incident", "障害", "Incident"),
    ("kind.maintenance", "メンテナンス", "Maintenance"),
    ("incident.investigating", "調査中", "Investigating"),
    ("incident.identified", "原因を特定", "Cause identified"),
    ("incident.resolved", "復旧済み", "Resolved"),
];
