-- The notice every install starts with (§7.1): what POP before SMTP is, in plain words, in
-- Japanese and English. Staff may edit or remove it like any other notice.
insert into notices (kind, title_ja, title_en, body_ja, body_en, published_at, updated_at,
                     created_by)
values ('notice',
        'POP before SMTP（受信してから送信）について',
        'About POP before SMTP: receive, then send',
        '当社のメールサーバーは、迷惑メールの中継を防ぐため「POP before SMTP」という仕組みを使っています。メールが送れないときは、まずこのページをご覧ください。

## どういう仕組みですか

メールを送る前に、メールソフトで**受信**（POP または IMAP でのログイン）をすると、そのとき使っている接続（IP アドレス）からの送信が、決まった時間だけ許可されます。その時間を過ぎると、もう一度受信するまで送信できません。

## なぜ先に受信するのですか

受信のときにメールソフトが送るメール ID とパスワードで、お客様ご本人であることを確かめています。本人確認の前の送信は、第三者による不正な送信と見分けがつかないため、お断りしています。

メールソフトによっては「送受信」ボタンが**送信を先に**行うため、受信したつもりでも送信が拒否されることがあります。お使いのメールソフトでの受信のしかたは[設定ガイド](/guide)をご覧ください。

## 送信できる時間

送信できるのは、受信してから決まった分数のあいだです（分数は[設定ガイド](/guide)に記載しています）。メールを書くのに時間がかかったときは、送信の直前にもう一度受信してください。

次のときも、もう一度受信が必要です。

- 接続し直して、アドレスが変わったとき（ダイヤルアップの「送受信後に切断する」設定、スマートフォンで Wi-Fi とモバイル通信が切り替わったときなど）
- パスワードが違っていて、受信できていなかったとき

## 根本的な解決方法

送信のときにメール ID とパスワードで確認する「SMTP 認証（SMTP AUTH）」を、サブミッションポート（通常は 587 番）でお使いいただくと、受信の順番や時間を気にせず送信できます。ご利用のプロバイダーがポート 25 をふさいでいる（OP25B）ときも、この設定なら送信できます。当社で利用できる場合は、[設定ガイド](/guide)にポート番号と設定場所を記載しています。

いまお使いの接続から送信できるかどうかは、[トップページ](/)で確認できます。',
        'Our mail server uses a method called "POP before SMTP" to stop strangers from sending spam through it. If your mail will not send, please read this first.

## How it works

Before you send, **receive** mail in your mail program (a POP or IMAP login). Your connection (its IP address) may then send mail for a set number of minutes. After that, you cannot send until you receive again.

## Why receive first

When your mail program receives, it gives your mail ID and password. That is how we know it is you. A message sent before that looks the same as one from a stranger, so the server refuses it.

Some mail programs **send first** when you press their "Send/Receive" button, so sending fails even though you pressed it. The [setup guides](/guide) show how to receive first in your program.

## How long you can send

You can send for a set number of minutes after receiving (the [setup guides](/guide) show how many). If writing a message takes longer, receive again just before you send.

You also need to receive again:

- when your connection changed its address (a dial-up program set to "Hang up after sending and receiving", or a phone that switched between Wi-Fi and mobile data);
- when your password was wrong, so receiving did not work.

## The lasting fix

With SMTP authentication (SMTP AUTH) on the submission port (usually 587), your mail program gives your mail ID and password when it sends. Then the order and the time no longer matter. It also works when your access provider blocks port 25 (Outbound Port 25 Blocking). Where we offer it, the [setup guides](/guide) show the port and where to set it.

To see whether your connection can send right now, open the [start page](/).',
        cast(strftime('%s', 'now') as integer), cast(strftime('%s', 'now') as integer), 'relaydesk');
