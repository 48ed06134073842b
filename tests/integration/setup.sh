#!/usr/bin/env bash
# The real mail daemons for tests/it/real_mail.rs: Debian's Postfix, Dovecot (POP3 and IMAP) and
# rsyslog, on loopback only. Idempotent: run it again and it reloads what is running.
#
# Each daemon runs as a separate instance with its own configuration under /etc/relaydesk-it, so a
# machine's own /etc/postfix and /etc/dovecot are never read or changed:
#   Postfix  127.0.0.1:25   mynetworks = 127.0.0.1/32 only: 127.0.0.2 and up are strangers that
#                           may relay only when relaydesk's policy service (127.0.0.1:10040) says OK;
#                           example.jp is delivered to maildirs (virtual(8)), every other domain
#                           goes to discard(8), which logs `status=sent` and never touches a network.
#   Dovecot  127.0.0.1:110 (POP3), 127.0.0.1:143 (IMAP), both also with STLS/STARTTLS, and
#                           127.0.0.1:995 (POP3S), 127.0.0.1:993 (IMAPS); cleartext logins allowed;
#                           users taro and hanako (password "secret") in a passwd-file, mail owned
#                           by the `mail` user. Its certificate (localhost, 127.0.0.1) comes from
#                           a test CA made here: /etc/relaydesk-it/tls/ca.pem; other-ca.pem is a
#                           second CA that signed nothing of this server's (an untrusted chain).
#   rsyslog  mail.* from both daemons → /var/log/relaydesk-it/mail.log (RSYSLOG_FileFormat).
# Linux routes all of 127.0.0.0/8 to lo, so clients can bind 127.0.0.2, 127.0.0.3, … as source.
# On a machine where something else already listens on one of these ports the script stops and
# names it rather than touching it.
set -euo pipefail

ETC=/etc/relaydesk-it
RUN=/run/relaydesk-it
LOG_DIR=/var/log/relaydesk-it
MAIL_LOG=$LOG_DIR/mail.log
MAIL_DIR=/var/lib/relaydesk-it/mail
PF_ETC=$ETC/postfix
PF_QUEUE=/var/spool/relaydesk-it/postfix
PF_DATA=/var/lib/relaydesk-it/postfix
DC_CONF=$ETC/dovecot/dovecot.conf
DC_BASE=$RUN/dovecot
RS_CONF=$ETC/rsyslog.conf
RS_PID=$RUN/rsyslogd.pid

say() { echo "setup.sh: $*"; }
die() { echo "setup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (installs packages and starts daemons)"

# ---- packages ---------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
need=()
for pair in postfix:/usr/sbin/postfix dovecot-pop3d:/usr/lib/dovecot/pop3 \
  dovecot-imapd:/usr/lib/dovecot/imap rsyslog:/usr/sbin/rsyslogd swaks:/usr/bin/swaks \
  iproute2:/usr/bin/ss procps:/usr/bin/pgrep openssl:/usr/bin/openssl; do
  [ -e "${pair#*:}" ] || need+=("${pair%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  # "No configuration": the package writes no /etc/postfix/main.cf and starts nothing.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Options::=--force-confold "${need[@]}" >/dev/null
fi

mkdir -p "$ETC" "$RUN" "$LOG_DIR" "$MAIL_DIR" "$PF_ETC" "$PF_QUEUE" "$PF_DATA" "$ETC/dovecot" "$DC_BASE"
chown mail:mail "$MAIL_DIR"
chown postfix "$PF_DATA"
chmod 0770 "$MAIL_DIR"

# Who holds a listening port, or nothing.
holder() { ss -H -ltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\).*/\1/p' | head -n1; }
check_port() { # port, the process name we expect when it is ours
  local h
  h=$(holder "$1")
  if [ -n "$h" ] && [ "$h" != "\"$2\"" ]; then
    die "port $1 is held by $h, not by this test's $2; stop it or run the test elsewhere"
  fi
}

# ---- rsyslog ----------------------------------------------------------------------------------
cat >"$RS_CONF.new" <<EOF
# relaydesk integration test: mail.* from Postfix and Dovecot into one file, rsyslog's
# high-precision format (the Debian 12 default).
module(load="imuxsock" SysSock.RateLimit.Interval="0")
mail.* action(type="omfile" file="$MAIL_LOG" template="RSYSLOG_FileFormat")
EOF
mv "$RS_CONF.new" "$RS_CONF"
touch "$MAIL_LOG"
chmod 0644 "$MAIL_LOG"
if [ -d /run/systemd/system ]; then
  # A systemd machine: /dev/log belongs to journald, which forwards to the system rsyslog; add a
  # drop-in there instead of starting a second rsyslogd.
  printf 'mail.* action(type="omfile" file="%s" template="RSYSLOG_FileFormat")\n' "$MAIL_LOG" \
    >/etc/rsyslog.d/60-relaydesk-it.conf
  systemctl restart rsyslog
elif [ -s "$RS_PID" ] && kill -0 "$(cat "$RS_PID")" 2>/dev/null; then
  kill -HUP "$(cat "$RS_PID")" # reopens the file
elif pgrep -x rsyslogd >/dev/null; then
  die "an rsyslogd not started by this script is running; add '$(tail -n1 "$RS_CONF")' to its configuration and restart it, or stop it"
else
  rsyslogd -f "$RS_CONF" -i "$RS_PID"
fi

# ---- TLS: a test CA and Dovecot's certificate ------------------------------------------------
TLS=$ETC/tls
mkdir -p "$TLS"
if [ ! -s "$TLS/server.pem" ] || [ ! -s "$TLS/other-ca.pem" ]; then
  ca() { # name, common name
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
      -keyout "$TLS/$1.key" -out "$TLS/$1.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  }
  ca ca "relaydesk test CA"
  ca other-ca "another CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$TLS/server.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 3650 -extfile "$TLS/server.ext" -out "$TLS/server.pem" 2>/dev/null
  rm -f "$TLS/server.csr" "$TLS/ca.key" "$TLS/other-ca.key"
fi
chmod 0755 "$TLS"
chmod 0644 "$TLS/ca.pem" "$TLS/other-ca.pem" "$TLS/server.pem"
chmod 0600 "$TLS/server.key"

# ---- Dovecot ----------------------------------------------------------------------------------
cat >"$ETC/dovecot/users" <<EOF
taro:{PLAIN}secret:8:8::$MAIL_DIR/taro
hanako:{PLAIN}secret:8:8::$MAIL_DIR/hanako
EOF
chown root:dovecot "$ETC/dovecot/users"
chmod 0640 "$ETC/dovecot/users"
cat >"$DC_CONF" <<EOF
# relaydesk integration test: POP3 and IMAP on 127.0.0.1, cleartext and TLS, logging to syslog.
protocols = pop3 imap
listen = 127.0.0.1
base_dir = $DC_BASE
instance_name = dovecot
log_path = syslog
syslog_facility = mail
ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
# A failed attempt is logged by the auth process and again by the login process.
auth_verbose = yes
mail_location = maildir:~/Maildir
first_valid_uid = 8
last_valid_uid = 8
mail_privileged_group = mail
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $ETC/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $ETC/dovecot/users
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = 110
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = 995
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 143
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = 993
    ssl = yes
  }
}
EOF
if [ -s "$DC_BASE/master.pid" ] && kill -0 "$(cat "$DC_BASE/master.pid")" 2>/dev/null; then
  # A reload does not add listeners: stop and start, so a changed configuration is all in force.
  doveadm -c "$DC_CONF" stop
  for _ in $(seq 1 50); do kill -0 "$(cat "$DC_BASE/master.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
fi
check_port 110 dovecot
check_port 143 dovecot
check_port 993 dovecot
check_port 995 dovecot
dovecot -c "$DC_CONF"

# ---- Postfix ----------------------------------------------------------------------------------
cat >"$PF_ETC/vmailbox" <<EOF
taro@example.jp     taro/Maildir/
hanako@example.jp   hanako/Maildir/
EOF
cat >"$PF_ETC/main.cf" <<EOF
# relaydesk integration test: a loopback-only Postfix whose relay permission for strangers comes
# from relaydesk's policy service (POP before SMTP).
compatibility_level = 3.6
config_directory = $PF_ETC
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.example.jp
mydomain = example.jp
myorigin = example.jp
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
mydestination = localhost
relay_domains =
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
smtputf8_enable = no
# The relay decision. relaydesk answers OK for a current grant, REJECT for a relay without one,
# DUNNO otherwise; when it is down Postfix uses DUNNO and reject_unauth_destination refuses
# relays (fail closed) while inbound mail keeps flowing.
smtpd_relay_restrictions = permit_mynetworks,
  check_policy_service { inet:127.0.0.1:10040, timeout=10s, default_action=DUNNO },
  reject_unauth_destination
smtpd_recipient_restrictions =
# Inbound: example.jp mailboxes, read by Dovecot.
virtual_mailbox_domains = example.jp
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_mailbox_base = $MAIL_DIR
virtual_uid_maps = static:8
virtual_gid_maps = static:8
virtual_minimum_uid = 8
# Outbound (relayed) mail never leaves the machine: discard(8) logs it as status=sent.
default_transport = discard:relayed-by-relaydesk-it
relay_transport = discard:relayed-by-relaydesk-it
maillog_file =
syslog_facility = mail
EOF
cat >"$PF_ETC/master.cf" <<'EOF'
# relaydesk integration test: Debian's services, none chrooted, smtpd on 127.0.0.1:25 only.
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
EOF
pf() { postfix -c "$PF_ETC" "$@"; }
pf check >/dev/null 2>&1 || pf set-permissions >/dev/null 2>&1 || true
pf check
if pf status >/dev/null 2>&1; then
  pf reload >/dev/null
else
  check_port 25 master
  pf start >/dev/null
fi

# ---- wait until every port answers ------------------------------------------------------------
for port in 25 110 143; do
  ok=
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || die "nothing answers on 127.0.0.1:$port after 10 s; see $MAIL_LOG"
done
say "Postfix 127.0.0.1:25, Dovecot 127.0.0.1:110/143/993/995 (CA $TLS/ca.pem), log $MAIL_LOG"
