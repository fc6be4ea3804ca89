"""Alerts end to end: kilnd's keeper evaluates the rules of alert_rules
every second (the stack's [alerts] interval) and tells each incident once
when it fires and once when it resolves, by a signed webhook to a local
receiver (signature checked here with Python's hmac against the site's
secret) and by mail through a real SMTP server (mailsink.py) to the
admins with a verified address. The conditions are driven in SQL: an
anomalous render (jobs.anomaly, as the Welford check sets it), a queue
held by a maintenance window, a daemon whose heartbeat stopped. Each test
enables only its own rule, so the others cannot add notices."""

import http.server
import json
import threading
import time

from common import WebhookReceiver, job_row, new_user, one, unique
from common import webhook_verify as verify
from harness import wait_until


class Receiver(WebhookReceiver):
    """Answers 200 to everything, recording it."""
    seen = []
    lock = threading.Lock()


SRV = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=SRV.serve_forever, daemon=True).start()
HOOK = "http://127.0.0.1:%d/alerts" % SRV.server_address[1]

STACK = dict(server="lighttpd", daemon=True, smtp=True,
             extra_conf="[daemon]\nwarm_up = 0\n"
                        "[webhooks]\nallow = 127.0.0.1\nretry_base = 1\n"
                        "[alerts]\ninterval = 1\nwebhook_url = %s\n" % HOOK)

# Long enough for several evaluations after a notice: a second notice of
# the same incident would have been told by then.
SETTLE_S = 4


def operator(s):
    """An admin with a verified address: the alerts' mail recipient."""
    uid, name = new_user(s, "ops", role="admin")
    addr = "%s@ops.example" % name
    s.sql("UPDATE users SET email = '%s', email_verified_at = NOW(3)"
          " WHERE id = %d" % (addr, uid))
    return addr


def only(s, rule, **cols):
    """Enables rule alone, with cols (threshold, window_s, duration_s)."""
    s.sql("UPDATE alert_rules SET enabled = (name = '%s')" % rule)
    if cols:
        s.sql("UPDATE alert_rules SET %s WHERE name = '%s'" % (
            ", ".join("%s = %s" % kv for kv in cols.items()), rule))


def hooks(rule, kind=None):
    with Receiver.lock:
        seen = list(Receiver.seen)
    out = []
    for r in seen:
        body = json.loads(r["body"])
        if body["data"]["rule"] == rule and \
                (kind is None or body["data"]["state"] == kind):
            out.append((r, body))
    return out


def mails(s, addr, title, word=None):
    return [m for m in s.mail.to(addr) if title in m.subject and
            (word is None or word in m.subject)]


def incident(s, rule, title, addr, clear):
    """Waits for the firing notices of rule, clears the condition
    (clear()), waits for the recovery, and checks there was exactly one
    of each by webhook, by mail and in alert_events."""
    wait_until(lambda: hooks(rule, "firing") and
               mails(s, addr, title, "FIRING"), timeout=30,
               what="%s firing by webhook and mail" % rule)
    time.sleep(SETTLE_S)
    assert one(s, "SELECT state FROM alert_rules WHERE name = '%s'" %
               rule) == "firing"
    clear()
    wait_until(lambda: hooks(rule, "resolved") and
               mails(s, addr, title, "RESOLVED"), timeout=30,
               what="%s resolved by webhook and mail" % rule)
    time.sleep(SETTLE_S)
    fired, resolved = hooks(rule, "firing"), hooks(rule, "resolved")
    assert len(fired) == 1 and len(resolved) == 1, (fired, resolved)
    assert len(mails(s, addr, title, "FIRING")) == 1
    assert len(mails(s, addr, title, "RESOLVED")) == 1
    # Both signed with the site's secret, with ids of this incident.
    secret = one(s, "SELECT value FROM settings WHERE name ="
                 " 'webhook_secret'")
    for rec, body in fired + resolved:
        assert verify(secret, rec), rec
        assert rec["path"] == "/alerts"
    n = fired[0][1]["data"]["incident"]
    assert resolved[0][1]["data"]["incident"] == n
    assert fired[0][0]["id"] == "msg_alert_%s_%d_firing" % (rule, n)
    assert fired[0][1]["type"] == "alert.firing"
    assert resolved[0][1]["type"] == "alert.resolved"
    assert s.sql("SELECT kind FROM alert_events WHERE rule = '%s'"
                 " AND incident = %d ORDER BY id" % (rule, n)) == \
        [["firing"], ["resolved"]]
    assert one(s, "SELECT state FROM alert_rules WHERE name = '%s'" %
               rule) == "ok"
    return fired[0][1], resolved[0][1]


def test_an_anomalous_render_is_told_once_and_its_recovery(s):
    addr = operator(s)
    only(s, "anomalies", threshold=0, window_s=600, duration_s=0)
    uid, _ = new_user(s)
    j1 = job_row(s, uid, anomaly=1, render_s=9.5,
                 finished_at="SQL:NOW(3)")
    wait_until(lambda: hooks("anomalies", "firing"), timeout=30,
               what="the first anomaly told")
    # A second anomalous job in the same incident tells nothing more.
    j2 = job_row(s, uid, anomaly=1, render_s=9.9,
                 finished_at="SQL:NOW(3)")

    def clear():
        s.sql("UPDATE jobs SET finished_at = NOW(3) - INTERVAL 1 HOUR"
              " WHERE id IN (%d, %d)" % (j1, j2))
    fired, resolved = incident(s, "anomalies", "Anomalous renders", addr,
                               clear)
    assert fired["data"]["value"] >= 1 and fired["data"]["threshold"] == 0
    assert resolved["data"]["value"] == 0


def test_a_queue_depth_breach_is_told_once_and_its_recovery(s):
    addr = operator(s)
    only(s, "queue_depth", threshold=2, duration_s=2)
    # A maintenance window in hold mode keeps the daemon from claiming.
    s.sql("INSERT INTO maintenance_windows (title, message, mode,"
          " starts_at, ends_at) VALUES ('alerts test', '', 'hold',"
          " NOW(3) - INTERVAL 1 MINUTE, NOW(3) + INTERVAL 1 HOUR)")
    uid, _ = new_user(s)
    jobs = [job_row(s, uid, status="queued") for _ in range(3)]
    try:
        # Breaching for duration_s first: pending, nothing told yet.
        wait_until(lambda: one(s, "SELECT state FROM alert_rules WHERE"
                               " name = 'queue_depth'") == "pending",
                   timeout=10, step=0.05, what="pending")
        assert not hooks("queue_depth")

        def clear():
            s.sql("UPDATE jobs SET status = 'canceled' WHERE id IN (%s)" %
                  ", ".join(map(str, jobs)))
        fired, resolved = incident(s, "queue_depth", "Queue depth", addr,
                                   clear)
        assert fired["data"]["value"] == 3
        assert fired["data"]["duration_s"] == 2
    finally:
        s.sql("UPDATE maintenance_windows SET canceled_at = NOW(3)"
              " WHERE title = 'alerts test'")
        s.sql("UPDATE jobs SET status = 'canceled' WHERE status = 'queued'"
              " AND user_id = %d" % uid)


def test_a_daemon_going_offline_is_told_once_and_its_recovery(s):
    addr = operator(s)
    only(s, "daemon_offline", threshold=0, window_s=3, duration_s=0)
    name = unique("ghost")
    # A daemon that beat once and stopped beating.
    s.sql("INSERT INTO daemons (name, host, pid, devices, state,"
          " heartbeat_at) VALUES ('%s', 'elsewhere', 1, 'none', 'idle',"
          " NOW(3))" % name)

    def clear():
        # It comes back as a clean stop (deregistered).
        s.sql("UPDATE daemons SET state = 'stopped', stopped_at = NOW(3)"
              " WHERE name = '%s'" % name)
    fired, resolved = incident(s, "daemon_offline", "daemons offline",
                               addr, clear)
    assert fired["data"]["value"] == 1
    # The stack's own daemon, beating every second, never counted.
    assert resolved["data"]["value"] == 0


def test_failure_rate_oldest_wait_and_disk_rules_fire_and_resolve(s):
    addr = operator(s)
    uid, _ = new_user(s)
    # Five jobs ended in the window, all failed: a rate of 1 (> 0.5).
    only(s, "failure_rate", threshold=0.5, window_s=600, duration_s=0)
    failed = [job_row(s, uid, status="failed", finished_at="SQL:NOW(3)")
              for _ in range(5)]

    def clear_failed():
        s.sql("UPDATE jobs SET finished_at = NOW(3) - INTERVAL 1 HOUR"
              " WHERE id IN (%s)" % ", ".join(map(str, failed)))
    fired, _ = incident(s, "failure_rate", "Failure rate", addr,
                        clear_failed)
    assert fired["data"]["value"] == 1
    # A job queued an hour ago, held by a maintenance window.
    only(s, "oldest_wait", threshold=600, duration_s=0)
    s.sql("INSERT INTO maintenance_windows (title, message, mode,"
          " starts_at, ends_at) VALUES ('alerts wait', '', 'hold',"
          " NOW(3) - INTERVAL 1 MINUTE, NOW(3) + INTERVAL 1 HOUR)")
    old = job_row(s, uid, status="queued",
                  created_at="SQL:NOW(3) - INTERVAL 1 HOUR")
    try:
        fired, _ = incident(
            s, "oldest_wait", "Oldest queued wait", addr,
            lambda: s.sql("UPDATE jobs SET status = 'canceled' WHERE"
                          " id = %d" % old))
        assert 3600 <= fired["data"]["value"] < 3700
    finally:
        s.sql("UPDATE maintenance_windows SET canceled_at = NOW(3)"
              " WHERE title = 'alerts wait'")
    # Free space below 101 % is always true; below 0 % never.
    only(s, "disk_free", threshold=101, duration_s=0)
    fired, resolved = incident(
        s, "disk_free", "Free space of the artifacts directory", addr,
        lambda: s.sql("UPDATE alert_rules SET threshold = 0 WHERE"
                      " name = 'disk_free'"))
    import os
    st = os.statvfs(s.path("artifacts"))
    assert abs(fired["data"]["value"] -
               100.0 * st.f_bavail / st.f_blocks) < 1.0
    assert fired["data"]["comparison"] == "below"


def test_one_daemon_evaluates_while_it_holds_the_lease(s):
    wait_until(lambda: s.sql("SELECT holder FROM keeper_leases WHERE"
                             " name = 'alerts'") == [["it-1"]],
               timeout=30, what="the stack's daemon to take the lease")
    # Another daemon holds a lease that has not run out: the stack's
    # daemon leaves the rules alone.
    s.sql("UPDATE keeper_leases SET holder = 'elsewhere', until = NOW(3)"
          " + INTERVAL 1 HOUR WHERE name = 'alerts'")
    time.sleep(1.5)
    before = one(s, "SELECT MAX(evaluated_at) FROM alert_rules")
    time.sleep(SETTLE_S)
    assert one(s, "SELECT MAX(evaluated_at) FROM alert_rules") == before
    assert one(s, "SELECT holder FROM keeper_leases") == "elsewhere"
    # Its lease runs out (that daemon died): the stack's takes over.
    s.sql("UPDATE keeper_leases SET until = NOW(3) - INTERVAL 1 SECOND"
          " WHERE name = 'alerts'")
    wait_until(lambda: one(s, "SELECT MAX(evaluated_at) FROM"
                           " alert_rules") != before, timeout=10,
               what="the rules evaluated again")
    assert one(s, "SELECT holder FROM keeper_leases") == "it-1"

def test_the_prometheus_rules_name_only_metrics_kiln_exposes(s):
    import os
    import re
    import yaml
    from harness import ROOT
    with open(os.path.join(ROOT, "apache-conf",
                           "kiln-alerts.rules.yml")) as f:
        doc = yaml.safe_load(f)
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len(rules) >= 7 and all("alert" in r and r["expr"]
                                   for r in rules)
    r = s.get("/metrics")
    assert r.status == 200, r.status
    exposed = set(re.findall(r"^# TYPE (\w+) ", r.text, re.M))
    named = set()
    for rule in rules:
        named |= set(re.findall(r"\b(kiln_\w+)", str(rule["expr"])))
    assert named and named <= exposed, named - exposed
    # The series kiln added for the rules agree with the database.
    want = one(s, "SELECT COALESCE(SUM(anomalies), 0) FROM render_stats")
    assert re.search(r"^kiln_render_anomalies_total %s$" % want, r.text,
                     re.M), r.text
    free = float(re.search(r"^kiln_artifacts_free_ratio (\S+)$", r.text,
                           re.M).group(1))
    st = os.statvfs(s.path("artifacts")) if os.path.isdir(
        s.path("artifacts")) else None
    if st is not None:
        assert abs(free - st.f_bavail / st.f_blocks) < 0.01
    for name, firing in s.sql("SELECT name, state = 'firing' FROM"
                              " alert_rules"):
        assert "kiln_alert_firing{rule=\"%s\"} %s\n" % (name, firing) \
            in r.text


SETTINGS = ("SELECT name, enabled, threshold, window_s, duration_s FROM"
            " alert_rules ORDER BY name")


def test_admins_set_the_rules_at_admin_alerts(s):
    from common import browser, post_form
    aid, _ = new_user(s, "adm", role="admin")
    cookie, csrf = browser(s, aid)
    r = s.request("GET", "/admin/alerts", headers={"Cookie": cookie})
    assert r.status == 200, r.status
    for rule in ("anomalies", "queue_depth", "oldest_wait",
                 "daemon_offline", "failure_rate", "disk_free"):
        assert 'id="rule-%s"' % rule in r.text, rule
    assert HOOK in r.text
    r = post_form(s, cookie, "/admin/alerts",
                  dict(csrf=csrf, rule="failure_rate", threshold="0.25",
                       window_s="1800", duration_s="120"))
    assert r.status == 303 and r.headers["location"].endswith(
        "/admin/alerts"), (r.status, r.text[:400])
    # The checkbox left unticked: the rule is disabled.
    assert s.sql("SELECT enabled, threshold, window_s, duration_s FROM"
                 " alert_rules WHERE name = 'failure_rate'") == \
        [["0", "0.25", "1800", "120"]]
    assert one(s, "SELECT COUNT(*) FROM audit_log WHERE action ="
               " 'alert_rule' AND target = 'failure_rate'") == "1"
    before = s.sql(SETTINGS)
    for fields in (dict(rule="nonsense", threshold="1", window_s="0",
                        duration_s="0"),
                   dict(rule="queue_depth", threshold="-1", window_s="0",
                        duration_s="0"),
                   dict(rule="queue_depth", threshold="x", window_s="0",
                        duration_s="0"),
                   dict(rule="queue_depth", threshold="5", window_s="0",
                        duration_s="90000")):
        r = post_form(s, cookie, "/admin/alerts", dict(csrf=csrf, **fields))
        assert r.status == 422, (fields, r.status)
    uid, _ = new_user(s, "plain")
    ucookie, ucsrf = browser(s, uid)
    assert s.request("GET", "/admin/alerts",
                     headers={"Cookie": ucookie}).status == 403
    r = post_form(s, ucookie, "/admin/alerts",
                  dict(csrf=ucsrf, rule="queue_depth", enabled="1",
                       threshold="1", window_s="0", duration_s="0"))
    assert r.status == 403
    assert s.sql(SETTINGS) == before
