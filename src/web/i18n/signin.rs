//! (key, Japanese, English): the words of customer sign-in.

pub const WORDS: &[(&str, &str, &str)] = &[
    ("login.title", "ログイン", "Sign in"),
    (
        "login.intro",
        "メールの ID とパスワード（メールソフトに設定しているもの）でログインすると、ご自分の受信の記録と、送信が拒否された理由を確認できます。",
        "Sign in with your mail ID and password (the ones in your mail program) to see your own mail checks and why sends were refused.",
    ),
    ("login.id", "メール ID", "Mail ID"),
    ("login.password", "パスワード", "Password"),
    ("login.submit", "ログイン", "Sign in"),
    (
        "login.wrong",
        "メール ID またはパスワードが違います。",
        "The mail ID or password is not correct.",
    ),
    (
        "login.missing",
        "メール ID とパスワードを入力してください。",
        "Please enter your mail ID and password.",
    ),
    (
        "login.unavailable",
        "現在、パスワードを確認できません。しばらくしてからお試しください。",
        "We cannot check passwords right now. Please try again later.",
    ),
    (
        "login.disabled",
        "このサイトでのログインは現在ご利用いただけません。送信できるかどうかはトップページで確認できます。",
        "Signing in is not available on this site. The start page still shows whether you can send now.",
    ),
    (
        "login.throttle_note",
        "パスワードを何度も間違えると、しばらくログインできなくなります。",
        "After several wrong passwords, signing in is paused for a while.",
    ),
];
