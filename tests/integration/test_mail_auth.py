"""Mail through a relay that requires SMTP AUTH ([mail] user and
password), with a real SMTP server (python3-aiosmtpd): the postman logs
in before it sends, and a relay that refuses the login keeps the mail in
the outbox, retried until the login works again."""

import re

from harness import wait_until
from test_accounts import PW, account, logged_in, new_key, redirected
from test_mail import address, set_address

USER, PASSWORD = "kiln-relay", "Relay-Secret-9041"
STACK = dict(server="lighttpd", daemon=True,
             smtp=dict(user=USER, password=PASSWORD),
             extra_conf="[daemon]\nwarm_up = 0\n"
                        "[limits]\nlogin_burst = 100000\n")


def test_the_postman_logs_in_to_the_relay(s):
    b = logged_in(s, account(s, "ma"), PW)
    addr = address("ma")
    redirected(set_address(s, b, addr), "set", "/account?done=email")
    mail = s.mail.wait_for(addr)[0]
    assert mail.login == USER, mail.login
    assert re.search(r"/account/email/verify/", mail.body)


def test_a_refused_login_keeps_the_mail_for_a_retry(s):
    name = account(s, "ma2")
    b = logged_in(s, name, PW)
    addr = address("ma2")
    s.mail.auth = (USER, "not-" + PASSWORD)
    try:
        redirected(set_address(s, b, addr), "set", "/account?done=email")
        uid = s.sql("SELECT id FROM users WHERE username = '%s'" %
                    name)[0][0]

        def refused():
            rows = s.sql("SELECT status, attempts, last_error FROM"
                         " mail_outbox WHERE user_id = %s" % uid)
            return rows and rows[0][0] == "pending" and \
                int(rows[0][1]) >= 1 and rows[0][2] not in ("", "NULL")
        wait_until(refused, timeout=20, what="a refused attempt")
        assert s.mail.to(addr) == []
    finally:
        s.mail.auth = (USER, PASSWORD)
    mail = s.mail.wait_for(addr, timeout=30)[0]
    assert mail.login == USER
    new_key(b, "k", ["read"])   # the account works on: nothing waited
