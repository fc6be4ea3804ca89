"""mailsink.py - a real SMTP server for the integration tests
(python3-aiosmtpd) on a free loopback port: it keeps every message it
receives, with its envelope, for a test to read and parse with Python's
own email package (an independent reader of what kiln built)."""

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Received:
    def __init__(self, mail_from, rcpt_tos, data, login=None):
        self.mail_from = mail_from
        self.login = login                # the AUTH user name, or None
        self.rcpt_tos = list(rcpt_tos)
        self.data = data                  # bytes, as sent after DATA
        self.msg = email.message_from_bytes(data, policy=email.policy.default)

    @property
    def to(self):
        return str(self.msg["To"])

    @property
    def subject(self):
        return str(self.msg["Subject"])

    @property
    def body(self):
        return self.msg.get_content()


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        login = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        with self.sink.lock:
            self.sink.mails.append(Received(envelope.mail_from,
                                            envelope.rcpt_tos, data, login))
        return "250 OK"


class _Authenticator:
    """Takes the sink's current (user, password), so a test can change
    what the relay accepts while it runs."""

    def __init__(self, sink):
        self.sink = sink

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == \
            self.sink.auth
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data if ok else None)


class MailSink:
    """auth: (user, password) the server requires with SMTP AUTH (over
    plain text: the relay is on loopback), or None for none."""

    def __init__(self, port, auth=None):
        self.port = port
        self.auth = auth
        self.mails = []
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        """Listens (again, after stop) on the same port."""
        kw = {}
        if self.auth is not None:
            kw = dict(authenticator=_Authenticator(self), auth_required=True,
                      auth_require_tls=False)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1",
                                     port=self.port, **kw)
        self.controller.start()

    def stop(self):
        """Stops listening: connections are refused until start."""
        self.controller.stop()

    def all(self):
        with self.lock:
            return list(self.mails)

    def to(self, addr):
        """The mails received for addr so far (envelope recipients)."""
        return [m for m in self.all() if addr in m.rcpt_tos]

    def wait_for(self, addr, n=1, timeout=20.0, pred=None):
        """Waits until addr has received n mails (that pred takes);
        returns them."""
        end = time.time() + timeout
        while True:
            got = [m for m in self.to(addr) if pred is None or pred(m)]
            if len(got) >= n:
                return got
            if time.time() > end:
                raise AssertionError(
                    "%s received %d mail(s), want %d; all: %r" % (
                        addr, len(got), n,
                        [(m.rcpt_tos, m.subject) for m in self.all()]))
            time.sleep(0.1)
