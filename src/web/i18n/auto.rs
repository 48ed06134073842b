//! (key, Japanese, English): the words of the guides' words about automatic setup.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("guide.auto", "自動設定", "Automatic setup"),
    (
        "guide.auto.thunderbird",
        "Thunderbird はメールアドレスとパスワードを入れるだけで、このサービスのサーバー設定を自動で見つけます（autoconfig）。見つからないときは下の値を手で入れてください。",
        "Thunderbird finds this service's server settings by itself when you enter your address and password (autoconfig). If it does not, enter the values below by hand.",
    ),
    (
        "guide.auto.outlook",
        "Outlook はメールアドレスを入れると、このサービスの設定を自動で問い合わせます（Autodiscover）。見つからないときは下の値を手で入れてください。",
        "Outlook asks this service for its settings when you enter your address (Autodiscover). If it does not find them, enter the values below by hand.",
    ),
    (
        "guide.auto.none",
        "このメールソフトには自動設定がありません。下の値を手で入れてください。",
        "This program has no automatic setup: enter the values below by hand.",
    ),
    (
        "guide.profile",
        "メールアドレスを入れて設定プロファイルをダウンロードし、画面の案内に従ってインストールすると、サーバー設定が済みます。パスワードはインストールのときに入力します（プロファイルには含まれません）。",
        "Enter your address and download the configuration profile; install it as the screen says and the servers are set. You type your password while installing (the profile does not carry it).",
    ),
    (
        "guide.profile.address",
        "メールアドレス",
        "Your email address",
    ),
    (
        "guide.profile.download",
        "設定プロファイルをダウンロード",
        "Download the configuration profile",
    ),
];
