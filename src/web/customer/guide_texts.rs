//! What each mail-client guide says, in Japanese and English: how to receive before sending,
//! the dial-up "hang up" setting, the client's own POP-before-SMTP option, and where SMTP AUTH
//! is set. Plain data; `guides` fills in `{smtp}`, `{port}`, `{window}` and the other
//! placeholders from the configuration. Menu names are as the Japanese and English versions of
//! each program print them.

/// One text in both languages.
pub struct Text {
    pub ja: &'static str,
    pub en: &'static str,
}

/// Numbered steps in both languages.
pub struct Steps {
    pub ja: &'static [&'static str],
    pub en: &'static [&'static str],
}

pub struct Client {
    pub slug: &'static str,
    pub name: Text,
    /// How to receive first in this program, so the connection may send.
    pub receive: Steps,
    /// Where to untick "hang up after sending and receiving", for programs that dial.
    pub hang_up: Option<Steps>,
    /// The program's own POP-before-SMTP setting, where it has one.
    pub own_option: Option<Steps>,
    /// Where to set SMTP AUTH on the submission port.
    pub smtp_auth: Steps,
    /// Something else people of this program run into.
    pub note: Option<Text>,
}

pub fn find(slug: &str) -> Option<&'static Client> {
    CLIENTS.iter().find(|c| c.slug == slug)
}

pub const CLIENTS: &[Client] = &[
    Client {
        slug: "outlook-express",
        name: Text {
            ja: "Outlook Express",
            en: "Outlook Express",
        },
        receive: Steps {
            ja: &[
                "ツールバーの「送受信」ボタンは押さないでください。このボタンは先に送信するため、送信が拒否されます。",
                "「送受信」ボタンの右の ▼ を押し、「すべて受信」を選びます。",
                "受信が終わってから、メールを作成して「送信」を押します。",
            ],
            en: &[
                "Do not press the \"Send/Recv\" button itself. It sends first, so the send is refused.",
                "Press the ▼ next to \"Send/Recv\" and choose \"Receive All\".",
                "When receiving has finished, write your message and press \"Send\".",
            ],
        },
        hang_up: Some(Steps {
            ja: &[
                "「ツール」メニューの「オプション」を開きます。",
                "「接続」タブの「送受信後に切断する」のチェックを外し、「OK」を押します。",
            ],
            en: &[
                "Open the \"Tools\" menu and choose \"Options\".",
                "On the \"Connection\" tab, untick \"Hang up after sending and receiving\" and press \"OK\".",
            ],
        }),
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「ツール」メニューの「アカウント」を開き、「メール」タブでアカウントを選んで「プロパティ」を押します。",
                "「サーバー」タブで「このサーバーは認証が必要」にチェックを入れます（「設定」は「受信メール サーバーと同じ設定を使用する」のままで大丈夫です）。",
                "「詳細設定」タブの「送信メール (SMTP)」を {port} にして「OK」を押します。",
            ],
            en: &[
                "Open the \"Tools\" menu, choose \"Accounts\", pick your account on the \"Mail\" tab and press \"Properties\".",
                "On the \"Servers\" tab, tick \"My server requires authentication\" (its \"Settings\" can stay at \"Use same settings as my incoming mail server\").",
                "On the \"Advanced\" tab, set \"Outgoing mail (SMTP)\" to {port} and press \"OK\".",
            ],
        },
        note: None,
    },
    Client {
        slug: "windows-live-mail",
        name: Text {
            ja: "Windows Live メール",
            en: "Windows Live Mail",
        },
        receive: Steps {
            ja: &[
                "「ホーム」タブの「送受信」の下の ▼ を押し、「すべて受信」を選びます（「送受信」ボタンそのものは先に送信します）。",
                "受信が終わってから、メールを作成して「送信」を押します。",
            ],
            en: &[
                "On the \"Home\" tab, press the ▼ under \"Send/Receive\" and choose \"Receive All\" (the \"Send/Receive\" button itself sends first).",
                "When receiving has finished, write your message and press \"Send\".",
            ],
        },
        hang_up: Some(Steps {
            ja: &[
                "左上の青い「ファイル」メニューから「オプション」→「メール」を開きます。",
                "「接続」タブの「送受信後に切断する」のチェックを外し、「OK」を押します。",
            ],
            en: &[
                "From the blue \"File\" menu at the top left, choose \"Options\", then \"Mail\".",
                "On the \"Connection\" tab, untick \"Hang up after sending and receiving\" and press \"OK\".",
            ],
        }),
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「アカウント」タブの「プロパティ」を押します。",
                "「サーバー」タブで「このサーバーは認証が必要」にチェックを入れます。",
                "「詳細設定」タブの「送信メール (SMTP)」を {port} にして「OK」を押します。",
            ],
            en: &[
                "On the \"Accounts\" tab, press \"Properties\".",
                "On the \"Servers\" tab, tick \"My server requires authentication\".",
                "On the \"Advanced\" tab, set \"Outgoing mail (SMTP)\" to {port} and press \"OK\".",
            ],
        },
        note: None,
    },
    Client {
        slug: "outlook",
        name: Text {
            ja: "Outlook（Microsoft 365・2016 以降）",
            en: "Outlook (Microsoft 365, 2016 and later)",
        },
        receive: Steps {
            ja: &[
                "「受信トレイ」を開き、「送受信」タブの「フォルダーの更新」を押します（「すべてのフォルダーを送受信」は先に送信することがあります）。",
                "受信が終わってから、メールを作成して「送信」を押します。",
                "「送信トレイ」にメールが残っているときは、受信のあと「送受信」タブの「すべて送信」を押します。",
            ],
            en: &[
                "Open the Inbox and press \"Update Folder\" on the \"Send / Receive\" tab (\"Send/Receive All Folders\" may send first).",
                "When receiving has finished, write your message and press \"Send\".",
                "If a message waits in the Outbox, press \"Send All\" on the \"Send / Receive\" tab after receiving.",
            ],
        },
        hang_up: Some(Steps {
            ja: &[
                "「ファイル」→「オプション」→「詳細設定」を開きます。",
                "「ダイヤルアップ」の「手動の送受信が完了したら切断する」のチェックを外し、「OK」を押します。",
            ],
            en: &[
                "Open \"File\", \"Options\", then \"Advanced\".",
                "Under \"Dial-up\", untick \"Hang up when finished with a manual Send/Receive\" and press \"OK\".",
            ],
        }),
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「ファイル」→「アカウント設定」→「アカウント設定」を開き、アカウントを選んで「変更」を押します。",
                "「詳細設定」を押し、「送信サーバー」タブで「送信サーバー (SMTP) は認証が必要」にチェックを入れ、「受信メール サーバーと同じ設定を使用する」を選びます。",
                "「詳細設定」タブの「送信サーバー (SMTP)」を {port} にして「OK」を押します。",
            ],
            en: &[
                "Open \"File\", \"Account Settings\", \"Account Settings\", pick your account and press \"Change\".",
                "Press \"More Settings\". On the \"Outgoing Server\" tab, tick \"My outgoing server (SMTP) requires authentication\" and choose \"Use same settings as my incoming mail server\".",
                "On the \"Advanced\" tab, set \"Outgoing server (SMTP)\" to {port} and press \"OK\".",
            ],
        },
        note: Some(Text {
            ja: "新しい Outlook（ボタンに「新しい Outlook」と表示されるもの）では画面が異なります。わからないときは {contact} までお問い合わせください。",
            en: "The new Outlook (marked \"New Outlook\") looks different. If you cannot find a setting, please contact {contact}.",
        }),
    },
    Client {
        slug: "thunderbird",
        name: Text {
            ja: "Thunderbird",
            en: "Thunderbird",
        },
        receive: Steps {
            ja: &[
                "ツールバーの「受信」（メッセージを受信）を押します。Thunderbird の「受信」は送信をしないので、そのまま使えます。",
                "受信が終わってから「作成」でメールを書き、「送信」を押します。",
                "「送信トレイ」にメールが残っているときは、受信のあと「ファイル」→「未送信のメッセージを送信」を選びます。",
            ],
            en: &[
                "Press \"Get Messages\" on the toolbar. It only receives, so it is safe to use.",
                "When receiving has finished, press \"Write\", write your message and press \"Send\".",
                "If a message waits in the Outbox, choose \"File\", \"Send Unsent Messages\" after receiving.",
            ],
        },
        hang_up: None,
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「≡」メニューの「アカウント設定」を開き、左の一番下の「送信 (SMTP) サーバー」を選びます。",
                "{smtp} を選んで「編集」を押します。",
                "「ポート番号」を {port}、「認証方式」を「通常のパスワード認証」、「ユーザー名」をメール ID にして「OK」を押します。",
            ],
            en: &[
                "Open \"Account Settings\" from the ≡ menu and choose \"Outgoing Server (SMTP)\" at the bottom of the left list.",
                "Pick {smtp} and press \"Edit\".",
                "Set \"Port\" to {port}, \"Authentication method\" to \"Normal password\" and \"User Name\" to your mail ID, then press \"OK\".",
            ],
        },
        note: None,
    },
    Client {
        slug: "becky",
        name: Text {
            ja: "Becky! Internet Mail",
            en: "Becky! Internet Mail",
        },
        receive: Steps {
            ja: &[
                "ツールバーの「受信」を押して、メールを受信します。",
                "受信が終わってから、メールを作成して送信します。",
            ],
            en: &[
                "Press \"Receive\" on the toolbar to receive mail.",
                "When receiving has finished, write your message and send it.",
            ],
        },
        hang_up: None,
        own_option: Some(Steps {
            ja: &[
                "「ツール」メニューの「メールボックスの設定」を開きます。",
                "「詳細」タブの「POP before SMTP」にチェックを入れて「OK」を押します。",
                "これで Becky! は送信の直前に自動で受信の確認（ログイン）をするので、受信の順番を気にせず送信できます。",
            ],
            en: &[
                "Open the \"Tools\" menu and choose \"Mailbox Settings\".",
                "On the \"Advanced\" tab, tick \"POP before SMTP\" and press \"OK\".",
                "Becky! now logs in to receive by itself right before it sends, so the order no longer matters.",
            ],
        }),
        smtp_auth: Steps {
            ja: &[
                "「ツール」メニューの「メールボックスの設定」を開きます。",
                "「詳細」タブの「SMTP 認証」にチェックを入れ、SMTP のポート番号を {port} にします。",
                "「POP before SMTP」のチェックは外してかまいません。「OK」を押します。",
            ],
            en: &[
                "Open the \"Tools\" menu and choose \"Mailbox Settings\".",
                "On the \"Advanced\" tab, tick \"SMTP Authentication\" and set the SMTP port to {port}.",
                "You may untick \"POP before SMTP\" now. Press \"OK\".",
            ],
        },
        note: None,
    },
    Client {
        slug: "apple-mail",
        name: Text {
            ja: "Mac のメール",
            en: "Apple Mail (Mac)",
        },
        receive: Steps {
            ja: &[
                "メッセージ一覧の上の封筒のボタン（メッセージを受信）を押すか、「メールボックス」メニューの「すべての新規メッセージを受信」を選びます。",
                "受信が終わってから、メールを作成して送信します。",
                "送信できなかったメールは「送信トレイ」に残ります。受信のあと、もう一度送信してください。",
            ],
            en: &[
                "Press the envelope button (Get Mail) above the message list, or choose \"Get All New Mail\" from the \"Mailbox\" menu.",
                "When receiving has finished, write your message and send it.",
                "A message that could not be sent stays in the Outbox. Send it again after receiving.",
            ],
        },
        hang_up: None,
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「メール」メニューの「設定」（古い macOS では「環境設定」）を開き、「アカウント」でアカウントを選んで「サーバ設定」を開きます。",
                "「送信用メールサーバ (SMTP)」の「接続設定を自動的に管理」のチェックを外します。",
                "「ポート」を {port}、「認証」を「パスワード」にして、ユーザ名にメール ID を入れ、「保存」を押します。",
            ],
            en: &[
                "Open \"Settings\" (\"Preferences\" on older macOS) from the \"Mail\" menu, pick your account under \"Accounts\" and open \"Server Settings\".",
                "Under \"Outgoing Mail Server (SMTP)\", untick \"Automatically manage connection settings\".",
                "Set \"Port\" to {port} and \"Authentication\" to \"Password\", enter your mail ID as user name, and press \"Save\".",
            ],
        },
        note: None,
    },
    Client {
        slug: "iphone",
        name: Text {
            ja: "iPhone・iPad の「メール」",
            en: "iPhone and iPad Mail",
        },
        receive: Steps {
            ja: &[
                "「メール」で受信ボックスを開き、メールの一覧を指で下に引っぱって離します。",
                "画面の下に「たった今アップデート」と出たら受信できています。",
                "そのあとでメールを作成して送信します。",
            ],
            en: &[
                "In Mail, open the Inbox, pull the message list down with your finger and let go.",
                "When \"Updated Just Now\" shows at the bottom, mail has been received.",
                "Then write your message and send it.",
            ],
        },
        hang_up: None,
        own_option: None,
        smtp_auth: Steps {
            ja: &[
                "「設定」→「アプリ」→「メール」→「メールアカウント」を開き、アカウントを選びます（古い iOS では「設定」→「メール」→「アカウント」）。",
                "アカウントをもう一度押し、「SMTP」→ {smtp} を開きます。",
                "「認証」を「パスワード」、「サーバポート」を {port} にして、ユーザ名にメール ID を入れ、「完了」を押します。",
            ],
            en: &[
                "Open Settings, Apps, Mail, Mail Accounts and pick your account (on older iOS: Settings, Mail, Accounts).",
                "Tap the account again, then \"SMTP\" and {smtp}.",
                "Set \"Authentication\" to \"Password\" and \"Server Port\" to {port}, enter your mail ID as user name, and tap \"Done\".",
            ],
        },
        note: Some(Text {
            ja: "Wi-Fi とモバイルデータ通信が切り替わると、接続のアドレスが変わって送信できなくなります。切り替わったときは、もう一度受信してから送信してください。",
            en: "When your phone switches between Wi-Fi and mobile data, its address changes and sending stops working. After a switch, receive again before you send.",
        }),
    },
];
