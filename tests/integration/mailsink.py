"""mailsink.py - a real SMTP server for the integration tests
(python3-aiosmtpd) on a free loopback port: it keeps every message it
receives, with its envelope, for a test to read and parse with Python's
own email package (an independent reader of what kiln built)."""

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller


class Received:
    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from
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
        with self.sink.lock:
            self.sink.mails.append(Received(envelope.mail_from,
                                            envelope.rcpt_tos, data))
        return "250 OK"


class MailSink:
    def __init__(self, port):
        self.port = port
        self.mails = []
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        """Listens (again, after stop) on the same port."""
        self.controller = Controller(_Handler(self), hostname="127.0.0.1",
                                     port=self.port)
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
