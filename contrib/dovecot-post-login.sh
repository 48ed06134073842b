#!/bin/sh
# Dovecot post-login script: tells relaydesk about each successful POP3/IMAP login, then
# continues the session. relaydesk grants relaying from that IP for the configured window.
#
# /etc/dovecot/conf.d/99-relaydesk.conf:
#   service pop3 {
#     executable = pop3 pop3-postlogin
#   }
#   service pop3-postlogin {
#     executable = script-login /usr/local/bin/relaydesk-post-login pop3
#     user = $default_internal_user
#     unix_listener pop3-postlogin { }
#   }
#   (and the same for imap with "imap")
#
# Set RELAYDESK_HOOK_TOKEN to relaydesk's hook.token, e.g. in the service's environment
# (import_environment) or by editing the default below. The call never delays a login by more
# than two seconds and never blocks it: mail keeps working if relaydesk is down.
service="${1:-pop3}"
case "$service" in pop3|imap) shift ;; *) service=pop3 ;; esac
url="${RELAYDESK_HOOK_URL:-http://127.0.0.1:10041/login}"
token="${RELAYDESK_HOOK_TOKEN:-change-me}"
curl -fsS -m 2 -o /dev/null \
  -H "Authorization: Bearer $token" \
  --data-urlencode "user=$USER" --data-urlencode "ip=$IP" --data-urlencode "service=$service" \
  "$url" || true
exec "$@"
