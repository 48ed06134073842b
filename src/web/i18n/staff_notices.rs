//! (key, Japanese, English): the words of the staff notice editor.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("staff.nav.notices", "お知らせ編集", "Notices"),
    (
        "staff.notices.title",
        "お知らせ・障害・メンテナンス",
        "Notices, incidents and maintenance",
    ),
    ("staff.notices.new", "新しいお知らせ", "New notice"),
    ("staff.notices.edit", "お知らせを編集", "Edit notice"),
    ("staff.notices.kind", "種類", "Kind"),
    (
        "staff.notices.title_ja",
        "タイトル（日本語）",
        "Title (Japanese)",
    ),
    (
        "staff.notices.title_en",
        "タイトル（英語）",
        "Title (English)",
    ),
    (
        "staff.notices.body_ja",
        "本文（日本語、Markdown）",
        "Body (Japanese, Markdown)",
    ),
    (
        "staff.notices.body_en",
        "本文（英語、Markdown）",
        "Body (English, Markdown)",
    ),
    (
        "staff.notices.published_at",
        "掲載日時（空欄なら今すぐ）",
        "Published at (empty: now)",
    ),
    ("staff.notices.starts_at", "開始日時", "Starts at"),
    ("staff.notices.ends_at", "終了日時", "Ends at"),
    (
        "staff.notices.status",
        "状況（障害のみ）",
        "Status (incidents only)",
    ),
    (
        "staff.notices.impact",
        "影響（障害のみ）",
        "Impact (incidents only)",
    ),
    (
        "staff.notices.components",
        "影響する機能（障害のみ）",
        "Affected components (incidents only)",
    ),
    ("staff.notices.scheduled", "掲載予定", "Scheduled"),
    ("staff.notices.preview", "プレビュー", "Preview"),
    ("staff.notices.save", "保存", "Save"),
    ("staff.notices.delete", "削除", "Delete"),
    (
        "staff.done.notice_create",
        "お知らせを作成しました。",
        "The notice is created.",
    ),
    (
        "staff.done.notice_update",
        "お知らせを更新しました。",
        "The notice is updated.",
    ),
    (
        "staff.done.notice_delete",
        "お知らせを削除しました。",
        "The notice is deleted.",
    ),
];
