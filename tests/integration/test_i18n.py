"""Languages and time zones behind lighttpd: Accept-Language (q-values)
picks English or Simplified Chinese, the footer switch overrides it with a
cookie for visitors and a stored setting for users (kept across
sessions), form errors come back translated, times show in the user's
zone, tools/i18n_check.py passes (and fails on untranslated text); the
invite form follows POST-redirect-GET and shows its code once; copy
buttons work in Chromium without console errors or CSP violations."""

import html
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import cdp
import harness
from common import browser, job_row, new_user, one, setting, token

STACK = dict(server="lighttpd", daemon=False)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

ZH = "zh-CN,zh;q=0.9,en;q=0.8"
EN = "en-US,en;q=0.9"


class Client:
    """A cookie jar over http.client: every Set-Cookie kept."""

    def __init__(self, s, cookies=None, lang=None):
        self.s = s
        self.jar = dict(cookies or {})
        self.lang = lang

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        if self.lang is not None:
            h["Accept-Language"] = self.lang
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            raw = r.getheaders()
        finally:
            c.close()
        r.text = data.decode("utf-8", "replace")
        r.hdrs = {k.lower(): v for k, v in raw}
        r.set_cookies = [v for k, v in raw if k.lower() == "set-cookie"]
        for sc in r.set_cookies:
            first, _, attrs = sc.partition(";")
            name, _, value = first.strip().partition("=")
            if value == "" or "max-age=0" in attrs.lower():
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return r

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request(
            "POST", path, body=urllib.parse.urlencode(fields, doseq=True),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Origin": "http://127.0.0.1:%d" % self.s.port})


def csrf_of(r):
    m = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert m, "no csrf field (%d): %s" % (r.status, r.text[:1500])
    return html.unescape(m.group(1))


def signed_in(s, lang=None, prefix="i18n", **kw):
    """A fresh user and a client signed in as them: (id, client, csrf)."""
    uid, _ = new_user(s, prefix, **kw)
    cookie, csrf = browser(s, uid)
    name, _, value = cookie.partition("=")
    return uid, Client(s, {name: value}, lang), csrf


def text_of(page):
    return html.unescape(re.sub(r"<[^>]*>", " ", page))


# ------------------------------------------------------------ language

def test_accept_language_zh_gives_chinese_pages(s):
    r = Client(s, lang=ZH).get("/login")
    assert r.status == 200, r.status
    assert '<html lang="zh-CN"' in r.text, r.text[:300]
    # The form's labels and the menu, from po/zh_CN.po.
    for zh in ("<h1>登录</h1>", ">用户名</label>", ">密码</label>",
               ">注册</a>", "<summary>菜单</summary>"):
        assert zh in r.text, (zh, r.text[:3000])
    assert "User name" not in r.text


def test_english_without_a_chinese_preference(s):
    for lang in (None, EN, "fr-FR,de;q=0.8", "zh-TW,zh-Hant;q=0.9"):
        r = Client(s, lang=lang).get("/login")
        assert '<html lang="en"' in r.text, (lang, r.text[:300])
        assert ">User name</label>" in r.text, lang


def test_accept_language_q_values_decide(s):
    r = Client(s, lang="en;q=0.5, zh;q=0.8").get("/login")
    assert '<html lang="zh-CN"' in r.text
    r = Client(s, lang="zh-Hans;q=0.4, en;q=0.6").get("/login")
    assert '<html lang="en"' in r.text
    r = Client(s, lang="zh-Hans-CN").get("/login")
    assert '<html lang="zh-CN"' in r.text


def test_visitor_switch_sets_a_cookie_that_beats_accept_language(s):
    c = Client(s, lang=EN)
    token_ = csrf_of(c.get("/login"))
    r = c.post("/language", {"language": "zh-CN", "next": "/login",
                             "csrf": token_})
    assert r.status == 303, (r.status, r.text[:500])
    assert r.hdrs.get("location", "").endswith("/login"), r.hdrs
    assert c.jar.get("kiln_lang") == "zh-CN", r.set_cookies
    r = c.get("/login")
    assert '<html lang="zh-CN"' in r.text and "<h1>登录</h1>" in r.text
    # The switch marks the language in use.
    assert re.search(r'value="zh-CN"[^>]*aria-pressed="true"', r.text)
    # Back to English.
    r = c.post("/language", {"language": "en", "next": "/login",
                             "csrf": csrf_of(r)})
    assert r.status == 303
    assert '<html lang="en"' in c.get("/login").text


def test_switch_refuses_other_languages(s):
    c = Client(s, lang=ZH)
    token_ = csrf_of(c.get("/login"))
    r = c.post("/language", {"language": "fr", "csrf": token_})
    assert r.status == 422, r.status
    # The refusal itself is in the page's language.
    assert "语言：英语或简体中文。" in r.text, r.text[:2000]
    assert "kiln_lang" not in c.jar


def test_user_choice_is_stored_and_follows_to_new_sessions(s):
    uid, c, csrf = signed_in(s, lang=EN)
    r = c.post("/language", {"language": "zh-CN", "next": "/account",
                             "csrf": csrf})
    assert r.status == 303, (r.status, r.text[:500])
    assert one(s, "SELECT language FROM users WHERE id = %d" % uid) == \
        "zh-CN"
    # Another browser, another session, no cookie, an English browser:
    # the stored choice wins.
    cookie, _ = browser(s, uid)
    name, _, value = cookie.partition("=")
    other = Client(s, {name: value}, EN)
    r = other.get("/account")
    assert r.status == 200
    assert '<html lang="zh-CN"' in r.text and "<h2>个人资料</h2>" in r.text
    # The confirm() macro's labels, passed as _() arguments.
    assert "<summary>在所有设备上退出登录</summary>" in r.text, r.text[-3000:]
    assert "结束所有会话，包括当前这个？" in r.text


def test_account_preferences_store_language_and_zone(s):
    uid, c, csrf = signed_in(s, lang=EN)
    r = c.post("/account/preferences", {"language": "zh-CN",
                                        "time_zone": "Asia/Shanghai",
                                        "csrf": csrf})
    assert r.status == 303, (r.status, r.text[:800])
    assert s.sql("SELECT language, time_zone FROM users WHERE id = %d" %
                 uid) == [["zh-CN", "Asia/Shanghai"]]
    r = c.get("/account?done=prefs")
    assert "语言和时区已保存。" in r.text
    assert re.search(r"<option selected>Asia/Shanghai</option>", r.text)
    # "" gives the choice back to the browser.
    r = c.post("/account/preferences", {"language": "", "time_zone": "UTC",
                                        "csrf": csrf})
    assert r.status == 303
    assert s.sql("SELECT language, time_zone FROM users WHERE id = %d" %
                 uid) == [["NULL", "UTC"]]
    assert '<html lang="en"' in c.get("/account").text


def test_preference_errors_come_together_and_in_chinese(s):
    uid, c, csrf = signed_in(s, lang=ZH)
    r = c.post("/account/preferences", {"language": "klingon",
                                        "time_zone": "Mars/Olympus_Mons",
                                        "csrf": csrf})
    assert r.status == 422, r.status
    t = text_of(r.text)
    assert "语言：英语或简体中文。" in t, t[:3000]
    assert "时区：时区数据库中的名称" in t, t[:3000]
    assert "未做任何更改" in t
    for bad in ("../../../etc/passwd", "/etc/localtime", "zone1970.tab"):
        r = c.post("/account/preferences", {"language": "en",
                                            "time_zone": bad, "csrf": csrf})
        assert r.status == 422, (bad, r.status)
    assert s.sql("SELECT language, time_zone FROM users WHERE id = %d" %
                 uid) == [["NULL", "NULL"]]


def test_register_errors_in_chinese_all_at_once(s):
    with setting(s, "registration", "open"):
        taken = new_user(s, "taken")[1]
        c = Client(s, lang=ZH)
        token_ = csrf_of(c.get("/register"))
        r = c.post("/register", {"username": taken,
                                 "display_name": "a\x01b",
                                 "password": "short", "password2": "short",
                                 "csrf": token_})
        assert r.status == 422, r.status
        t = text_of(r.text)
        # Three fields wrong, three messages, each in Chinese.
        assert "用户名：已被占用。" in t, t[:4000]
        assert "显示名称：最多 128 字节的文本" in t, t[:4000]
        assert "密码至少需要 10 个字符。" in t, t[:4000]
        assert "请修改下方标出的字段。" in t
        assert one(s, "SELECT COUNT(*) FROM users WHERE username = '%s'" %
                   taken) == "1"


def test_register_takes_the_browsers_zone(s):
    with setting(s, "registration", "open"):
        for zone, stored in (("Asia/Shanghai", "Asia/Shanghai"),
                             ("Nowhere/Else", "NULL"), ("", "NULL")):
            c = Client(s, lang=EN)
            token_ = csrf_of(c.get("/register"))
            name = "tz-%s" % token()[:8].lower().replace("_", "x")
            r = c.post("/register", {"username": name,
                                     "password": "Quartz-Falcon-1931",
                                     "password2": "Quartz-Falcon-1931",
                                     "time_zone": zone, "csrf": token_})
            assert r.status == 303, (zone, r.status, r.text[:1500])
            assert one(s, "SELECT time_zone FROM users WHERE username ="
                       " '%s'" % name) == stored, zone


def test_generate_field_errors_in_chinese(s):
    uid, c, csrf = signed_in(s, lang=ZH)
    r = c.post("/generate", {"prompt": "", "csrf": csrf})
    assert r.status == 422, (r.status, r.text[:1500])
    # submit.c's fixed message, beside its field, translated.
    assert "prompt 不能为空" in text_of(r.text), text_of(r.text)[:4000]


def test_error_page_in_chinese(s):
    r = Client(s, lang=ZH).get("/no/such/page")
    assert r.status == 404
    assert "<h1>404 未找到</h1>" in r.text, r.text[:1500]
    assert "返回首页" in r.text


def test_broken_catalogue_stops_the_portal(s):
    d = tempfile.mkdtemp(prefix="kiln-po-")
    try:
        with open(os.path.join(d, "zh_CN.po"), "w") as f:
            f.write('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n')
        conf = os.path.join(d, "kiln.conf")
        with open(s.conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^locale = .*$", "locale = " + d, text)
        with open(conf, "w") as f:
            f.write(text)
        env = dict(os.environ, KILN_CONF=conf)
        exe = os.path.join(harness.BUILD, "cgi-bin", "portal.fcgi")
        p = subprocess.run([exe, "--check-config"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "zh_CN.po:4: msgid \"a\" given twice" in p.stderr, p.stderr
        # The shipped catalogue passes.
        p = subprocess.run([exe, "--check-config"], capture_output=True,
                           env=dict(os.environ, KILN_CONF=s.conf),
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------- time zones

def test_jobs_show_times_in_the_users_zone(s):
    uid, c, _ = signed_in(s)
    job_row(s, uid, prompt="tz probe", created_at="2026-12-07 10:30:00")
    r = c.get("/jobs")
    assert "2026-12-07 10:30" in r.text and "(UTC)" in r.text
    s.sql("UPDATE users SET time_zone = 'Asia/Shanghai' WHERE id = %d" % uid)
    r = c.get("/jobs")
    assert "2026-12-07 18:30" in r.text, r.text[-3000:]
    assert "2026-12-07 10:30" not in r.text
    assert "(Asia/Shanghai)" in r.text
    # Daylight saving time follows the date: New York is UTC-4 in July.
    job_row(s, uid, prompt="tz summer", created_at="2026-07-01 12:00:00")
    s.sql("UPDATE users SET time_zone = 'America/New_York' WHERE id = %d" %
          uid)
    r = c.get("/jobs")
    assert "2026-12-07 05:30" in r.text and "2026-07-01 08:00" in r.text


def test_account_sessions_show_the_users_zone(s):
    uid, c, _ = signed_in(s)
    s.sql("UPDATE sessions SET created_at = '2026-01-15 23:10:00'"
          " WHERE user_id = %d" % uid)
    s.sql("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE id = %d" % uid)
    r = c.get("/account")
    assert "2026-01-16 08:10" in r.text, r.text[-3000:]


# ------------------------------------------------- Explore, moderation

def published_row(s, uid, prompt, at, anonymous=0, hidden_by=None):
    """A published image of a job of uid, in SQL only (the pages tested
    here show its row, not its file): its id."""
    jid = job_row(s, uid, prompt=prompt)
    s.sql("INSERT INTO job_images (job_id, idx, seed, path, width, height)"
          " VALUES (%d, 0, 1, 'jobs/%d/0.png', 64, 64)" % (jid, jid))
    s.sql("INSERT INTO published_images (job_id, idx, user_id, anonymous,"
          " published_at, hidden_at, hidden_by) VALUES (%d, 0, %d, %d,"
          " '%s', %s, %s)" % (jid, uid, anonymous, at,
                              "'%s'" % at if hidden_by else "NULL",
                              hidden_by or "NULL"))
    return int(one(s, "SELECT id FROM published_images WHERE job_id = %d"
                      % jid))


def test_explore_pages_in_chinese(s):
    author, _ = new_user(s, "i18n-author")
    pid = published_row(s, author, "i18n explore lighthouse",
                        "2026-12-07 10:30:00", anonymous=1)
    # A visitor: the gallery, its search and one image.
    v = Client(s, lang=ZH)
    r = v.get("/explore")
    assert r.status == 200, r.status
    for zh in ("<h1>探索</h1>", "大家选择公开发布的图片。", "搜索提示词",
               ">搜索</button>", ">注册</a>"):
        assert zh in r.text, (zh, r.text[-3000:])
    assert 'href="/explore/%d"' % pid in r.text
    assert "Search prompts" not in r.text and "anonymous" not in r.text
    r = v.get("/explore?q=i18n-no-such-word-anywhere")
    assert "没有符合此搜索的图片。" in r.text, r.text[-2000:]
    r = v.get("/explore/%d" % pid)
    assert r.status == 200, r.status
    for zh in ("<h1>已发布的图片</h1>", ">匿名</span>", ">再创作</a>",
               "会用这些设置打开生成页面。", ">下载</a>", "后即可举报这张图片。"):
        assert zh in r.text, (zh, r.text[-3000:])
    for en in ("Published image", "Remix", "anonymous", "Sign in"):
        assert en not in text_of(r.text), en
    # Signed in, in Shanghai: the report form, and the time in the zone.
    viewer, c, _ = signed_in(s, ZH, prefix="i18n-viewer")
    s.sql("UPDATE users SET time_zone = 'Asia/Shanghai' WHERE id = %d" %
          viewer)
    r = c.get("/explore/%d" % pid)
    for zh in ("<summary>举报这张图片</summary>", ">垃圾信息或广告</option>",
               ">详细说明（可选）</label>", ">提交举报</button>",
               "2026-12-07 18:30 Asia/Shanghai"):
        assert zh in r.text, (zh, r.text[-3000:])
    assert "2026-12-07 10:30" not in r.text
    # A message from C (page_explore.c) in Chinese.
    r = c.post("/explore/%d/report" % pid,
               {"csrf": csrf_of(r), "reason": "no-such-reason"})
    assert r.status == 422, r.status
    assert "原因：请从列表中选择一项。" in r.text, r.text[-2000:]


def test_moderation_page_in_chinese(s):
    author, _ = new_user(s, "i18n-reported")
    reporter, _ = new_user(s, "i18n-reporter")
    mod, c, _ = signed_in(s, ZH, prefix="i18n-mod", role="moderator")
    s.sql("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE id = %d" % mod)
    pid = published_row(s, author, "i18n reported prompt",
                         "2026-12-07 10:00:00")
    other, _ = new_user(s, "i18n-reporter")
    s.sql("INSERT INTO image_reports (published_id, reporter_id, reason,"
          " created_at) VALUES (%d, %d, 'spam', '2026-12-07 11:15:00'),"
          " (%d, %d, 'hate', '2026-12-07 09:00:00')" %
          (pid, reporter, pid, other))
    gone = published_row(s, author, "i18n hidden prompt",
                         "2026-12-06 23:40:00", hidden_by=mod)
    r = c.get("/admin/reports")
    assert r.status == 200, r.status
    for zh in ("<h1>举报</h1>", "<h2>待处理的举报</h2>", "<th>操作</th>",
               "<h2>已隐藏的图片</h2>", ">隐藏</button>", ">驳回</button>",
               ">恢复</button>", "在“探索”中", "(Asia/Tokyo)",
               # The reasons as the report form words them, listed
               # the Chinese way (the ENUM's order: spam before hate).
               "垃圾信息或广告，仇恨或骚扰",
               # The latest report's time and the hidden one's, in Tokyo.
               "2026-12-07 20:15", "2026-12-07 08:40"):
        assert zh in r.text, (zh, r.text[-4000:])
    assert 'id="report-%d"' % pid in r.text and "/%d/restore" % gone in r.text
    for en in ("Open reports", "Dismiss", "Hidden images", "(UTC)",
               "spam"):
        assert en not in r.text, en
    # The flash of an action (lib/view.c) in Chinese.
    r = c.post("/admin/reports/%d/hide" % pid, {"csrf": csrf_of(r)})
    assert r.status == 303 and r.hdrs["location"] == "/admin/reports", \
        (r.status, r.hdrs)
    r = c.get("/admin/reports")
    assert "已隐藏：这张图片已从“探索”中移除。" in r.text, r.text[-3000:]
    # A visitor is refused in Chinese: the page is for moderators.
    _, u, _ = signed_in(s, ZH, prefix="i18n-plain")
    r = u.get("/admin/reports")
    assert r.status == 403 and "此页面仅供审核员使用。" in r.text, \
        (r.status, r.text[-2000:])


# ------------------------------------------------------------- checker

def run_checker(root=None):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "i18n_check.py")]
    if root is not None:
        cmd.append(root)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_i18n_checker_passes(s):
    p = run_checker()
    assert p.returncode == 0, p.stdout + p.stderr


def test_i18n_checker_finds_untranslated_text(s):
    d = tempfile.mkdtemp(prefix="kiln-i18n-")
    try:
        os.makedirs(os.path.join(d, "templates"))
        os.makedirs(os.path.join(d, "po"))
        shutil.copy(os.path.join(ROOT, "po", "zh_CN.po"),
                    os.path.join(d, "po"))
        # Two branches appending the same msgid merge cleanly; the
        # portal refuses the result, so the checker must too.
        with open(os.path.join(d, "po", "zh_CN.po"), "a") as f:
            f.write('\n#: x\nmsgid "Save"\nmsgstr "保存"\n')
        with open(os.path.join(d, "templates", "x.cs"), "w") as f:
            f.write('<p>Hello there</p>\n<p><?cs var:_("Save") ?></p>\n'
                    '<p><?cs var:_("No such words in po") ?></p>\n'
                    '<img alt="A picture">\n'
                    '<?cs call:confirm("/x", "Delete it", _("Save"), '
                    '"small") ?>\n')
        p = run_checker(d)
        assert p.returncode == 1, p.stdout
        assert "'Hello'" in p.stdout and "'there'" in p.stdout, p.stdout
        assert "no translation for 'No such words in po'" in p.stdout
        assert "alt attribute: 'picture'" in p.stdout, p.stdout
        assert "macro argument: 'Delete it'" in p.stdout, p.stdout
        assert "'small'" not in p.stdout and "'/x'" not in p.stdout
        assert "msgid 'Save' given twice" in p.stdout, p.stdout
        assert "no translation for 'Save'" not in p.stdout
        assert ": 'Save'" not in p.stdout, p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------- invite (PRG)

def invites(s):
    return int(one(s, "SELECT COUNT(*) FROM invites"))


def test_invite_form_redirects_and_shows_the_code_once(s):
    uid, c, csrf = signed_in(s, role="admin", prefix="i18n-admin")
    before = invites(s)
    r = c.post("/admin/invites", {"note": "for dana", "csrf": csrf})
    assert r.status == 303, (r.status, r.text[:800])
    loc = r.hdrs.get("location", "")
    assert urllib.parse.urlsplit(loc).path == "/admin/settings", loc
    assert invites(s) == before + 1
    r = c.get("/admin/settings")
    m = re.search(r'<code id="new-invite">([^<]+)</code>', r.text)
    assert m, r.text[:3000]
    code = html.unescape(m.group(1))
    # The code is not in any URL, and the copy button is there (hidden
    # until copy.js shows it).
    assert code not in loc
    assert re.search(r'<button type="button" class="copy small" '
                     r'data-copy="new-invite"[^>]* hidden>', r.text)
    # It works: a digest of it is stored.
    assert one(s, "SELECT COUNT(*) FROM invites WHERE code_hash ="
               " SHA2('%s', 256)" % code) == "1"
    # A reload makes no invite and shows no code.
    r = c.get("/admin/settings")
    assert 'id="new-invite"' not in r.text
    assert invites(s) == before + 1


def test_invite_cookie_cannot_put_text_on_the_page(s):
    # The cookie holds a row id and a key (lib/once.c), never the text
    # shown: a forged one shows nothing.
    uid, c, csrf = signed_in(s, role="admin", prefix="i18n-admin")
    fake = token()
    for value in (fake, "1." + fake, "999999." + fake):
        c.jar["kiln_once_invite"] = value
        r = c.get("/admin/settings")
        assert r.status == 200, r.status
        assert fake not in r.text and 'id="new-invite"' not in r.text


# ------------------------------------------------- copy buttons (CDP)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--window-size=1100,800"]


def test_copy_buttons_copy_in_chromium(s):
    base = "http://127.0.0.1:%d" % s.port
    uid, _, _ = signed_in(s, prefix="i18n-copy")
    cookie, _ = browser(s, uid)
    with cdp.Browser(FLAGS) as b:
        b.send("Browser.grantPermissions", {
            "origin": base,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        b.page("Network.enable")
        b.page("Network.setCookie", {
            "name": "kiln_session", "value": cookie.partition("=")[2],
            "url": base + "/", "httpOnly": True})
        b.navigate(base + "/account/keys")
        form = 'form[action="/account/keys"]'
        assert b.exists(form), b.text()[:1500]
        b.set_value('%s [name="name"]' % form, "copy test")
        b.submit(form)
        key = b.evaluate("document.getElementById('new-key').textContent")
        assert key and key.startswith("kiln_"), b.text()[:1500]
        btn = "button.copy[data-copy='new-key']"
        assert b.evaluate("!document.querySelector(\"%s\").hidden" % btn), \
            "copy.js did not show the button"
        b.evaluate("document.querySelector(\"%s\").click()" % btn)
        got = b.evaluate("navigator.clipboard.readText()")
        assert got == key, (got, key)
        label = b.evaluate("new Promise(function (ok) { setTimeout("
                           "function () { ok(document.querySelector(\"%s\")"
                           ".textContent); }, 100); })" % btn)
        assert label == "Copied", label
        # The webhook secret has one too.
        b.navigate(base + "/account/webhooks")
        secret = b.evaluate("document.getElementById('webhook-secret')"
                            ".textContent")
        b.evaluate("document.querySelector(\"button.copy[data-copy="
                   "'webhook-secret']\").click()")
        assert b.evaluate("navigator.clipboard.readText()") == secret
        assert b.problems() == [], b.problems()


def test_browser_zone_fills_the_account_form(s):
    base = "http://127.0.0.1:%d" % s.port
    uid, _, _ = signed_in(s, prefix="i18n-tz")
    cookie, _ = browser(s, uid)
    with cdp.Browser(FLAGS) as b:
        b.page("Emulation.setTimezoneOverride",
               {"timezoneId": "Asia/Shanghai"})
        b.page("Network.enable")
        b.page("Network.setCookie", {
            "name": "kiln_session", "value": cookie.partition("=")[2],
            "url": base + "/", "httpOnly": True})
        b.navigate(base + "/account")
        # No zone chosen yet: copy.js selects the browser's.
        assert b.evaluate("document.getElementById('time_zone').value") == \
            "Asia/Shanghai", b.text()[:1000]
        b.submit("#prefs")
        assert b.path() == "/account"
        assert one(s, "SELECT time_zone FROM users WHERE id = %d" % uid) == \
            "Asia/Shanghai"
        assert b.problems() == [], b.problems()


# ------------------------------------------------- the studio's pages

def checker():
    """tools/i18n_check.py as a module (its template_msgids)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "i18n_check", os.path.join(ROOT, "tools", "i18n_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STUDIO = ("generate.cs", "generate_inputs.cs", "job.cs", "home.cs")


def english_left(page):
    """The studio templates' English msgids (sentences and phrases of two
    words or more, without placeholders) found in page's text or its
    attributes: none should be on a Chinese page."""
    mod = checker()
    ids = set()
    for t in STUDIO:
        for m in mod.template_msgids(os.path.join(ROOT, "templates", t)):
            if " " in m.strip() and "{" not in m and \
                    len(re.findall(r"[A-Za-z]{2,}", m)) >= 2:
                ids.add(m)
    assert len(ids) > 100, len(ids)
    body = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    text = html.unescape(body)
    return sorted(m for m in ids if m in text)


def test_studio_pages_in_chinese(s):
    uid, c, _ = signed_in(s, lang=ZH, prefix="i18n-studio")
    s.sql("UPDATE users SET time_zone = 'Asia/Shanghai' WHERE id = %d" % uid)
    done = job_row(s, uid, prompt="zh probe",
                   created_at="2026-12-07 10:30:00",
                   started_at="2026-12-07 10:31:00",
                   finished_at="2026-12-07 10:32:05")
    queued = job_row(s, uid, status="queued", prompt="zh waiting")
    pages = {
        "/generate": ("<h1>生成</h1>", "反向提示词", "尺寸预设",
                      "高分辨率修复", "初始图像", "局部重绘：重新绘制初始图像的一部分",
                      "扩图：向外扩展初始图像", "预估：",
                      'data-t-queued="正在队列中等待。"',
                      'data-msg-not-image="不是 PNG 或 JPEG 图像"'),
        "/jobs/%d" % done: ("任务 %d" % done, "参数", "通过链接分享",
                            "删除此任务及其图像", "再次使用这些设置",
                            "(Asia/Shanghai)",
                            "2026-12-07 18:30:00", "2026-12-07 18:32:05"),
        "/jobs/%d" % queued: ("正在队列中等待", "取消此任务？尚未生成的图像将不再生成。",
                              'data-s-running="运行中"',
                              'data-t-step="第 {n} 步，共 {m} 步。"'),
        "/": ("生成图片", "进行中", "最近的图像", "默认模型",
              "正在队列中等待"),
    }
    for path, want in pages.items():
        r = c.get(path)
        assert r.status == 200, (path, r.status, r.text[:1500])
        assert '<html lang="zh-CN"' in r.text
        for zh in want:
            assert zh in r.text, (path, zh, text_of(r.text)[-4000:])
        left = english_left(r.text)
        assert left == [], (path, left)
    # The times are the zone's, not UTC's.
    r = c.get("/jobs/%d" % done)
    assert "2026-12-07 10:30" not in r.text
    # A visitor's home page too.
    r = Client(s, lang=ZH).get("/")
    assert r.status == 200
    assert "自托管的图像生成器" in r.text and ">登录</a>" in r.text
    assert english_left(r.text) == [], english_left(r.text)
    # The same pages stay English for an English browser.
    c.lang = EN
    r = c.get("/jobs/%d" % queued)
    assert "Waiting in the queue" in r.text and "Cancel this job?" in r.text


def test_subst_fills_numbers_where_the_language_puts_them(s):
    uid, c, _ = signed_in(s, lang=ZH, prefix="i18n-subst")
    jid = job_row(s, uid, status="running", prompt="zh steps", steps=7,
                  steps_total=7, step=3, eta_s=12)
    r = c.get("/jobs/%d" % jid)
    assert r.status == 200, r.text[:1500]
    assert "第 3 步，共 7 步，约剩 12 秒。" in text_of(r.text), \
        text_of(r.text)[:3000]
    c.lang = EN
    r = c.get("/jobs/%d" % jid)
    assert "Step 3 of 7, about 12 s left." in text_of(r.text), \
        text_of(r.text)[:3000]


def test_studio_script_texts_in_chinese_in_chromium(s):
    base = "http://127.0.0.1:%d" % s.port
    uid, _, _ = signed_in(s, prefix="i18n-studio-js")
    s.sql("UPDATE users SET language = 'zh-CN' WHERE id = %d" % uid)
    cookie, _ = browser(s, uid)
    with cdp.Browser(FLAGS) as b:
        b.page("Network.enable")
        b.page("Network.setCookie", {
            "name": "kiln_session", "value": cookie.partition("=")[2],
            "url": base + "/", "httpOnly": True})
        b.navigate(base + "/generate?prompt=zh")
        assert b.exists("#gen-form"), b.text()[:1500]
        # generate.js recomputes the estimate from the fields: its texts
        # are the page's translated data- attributes.
        b.set_value("#batch_count", "2")
        credits = b.evaluate("document.getElementById('est-credits')"
                             ".textContent")
        assert re.fullmatch(r"\d+ 积分", credits), credits
        t = b.evaluate("document.getElementById('est-time').textContent")
        assert t.startswith("约需渲染") or t.startswith("暂无时间预估"), t
        # A short job, sent by the script: no daemon runs here, so it
        # waits in the queue, said in Chinese.
        b.set_value("#steps", "2")
        b.set_value("#batch_count", "1")
        b.evaluate("document.getElementById('gen-form').requestSubmit(),"
                   " true")
        status = b.evaluate(
            "new Promise(function (ok) { var n = 0; (function look() {"
            " var t = document.getElementById('studio-status').textContent;"
            " if (/队列/.test(t) || ++n > 100) ok(t);"
            " else setTimeout(look, 100); })(); })", timeout=20)
        assert "正在队列中等待" in status, (status, b.text()[:2000])
        assert not re.search(r"[A-Za-z]{3,}", status), status
        assert b.problems() == [], b.problems()


def test_formatted_field_messages_in_chinese(s):
    uid, c, csrf = signed_in(s, lang=ZH, prefix="i18n-fmt")
    # A range and a tier limit: submit.c's formats, translated before
    # they are filled in (job_spec_lang), beside their fields.
    r = c.post("/generate", {"prompt": "x", "steps": "100000",
                             "batch_count": "1", "cfg_scale": "99",
                             "csrf": csrf})
    assert r.status == 422, (r.status, r.text[:1500])
    text = text_of(r.text)
    assert re.search(r"steps (必须是 \d+ 到 \d+ 之间的整数|超过了)", text), \
        text[:5000]
    assert re.search(r"cfg_scale 必须是 \S+ 到 \S+ 之间的数", text), \
        text[:5000]
    assert "must be" not in text and "exceeds" not in text, text[:5000]
    # The next request in English gets English: the language is the
    # request's, not left over from the last one.
    c.lang = EN
    r = c.post("/generate", {"prompt": "x", "cfg_scale": "99",
                             "csrf": csrf})
    assert r.status == 422
    assert re.search(r"cfg_scale must be a number from \S+ to \S+",
                     text_of(r.text)), text_of(r.text)[:5000]


def test_upload_refusals_in_chinese_beside_the_field(s):
    # upload.c's messages while the page checks its form: translated
    # (TR, like submit.c's), and English again for an English browser.
    from test_studio_inputs import multipart
    uid, _ = new_user(s, "i18n-up")
    cookie, csrf = browser(s, uid)
    # A PNG cut off inside its header.
    broken = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00"

    def send(lang):
        body, ctype = multipart([("csrf", csrf), ("prompt", "x")],
                                [("init_image", "cut.png", broken)])
        return s.request("POST", "/generate", body=body, headers={
            "Cookie": cookie, "Content-Type": ctype,
            "Accept-Language": lang})
    r = send(ZH)
    assert r.status == 422, (r.status, r.text[:1500])
    text = text_of(r.text)
    assert "PNG 文件头不完整" in text, text[:5000]
    assert "truncated PNG header" not in text
    r = send(EN)
    assert r.status == 422 and "truncated PNG header" in text_of(r.text)


def test_csv_refusals_in_chinese(s):
    # csv.c's messages on the batch page, in the page's language.
    uid, c, csrf = signed_in(s, lang=ZH, prefix="i18n-csv")
    r = c.post("/batch", {"csrf": csrf, "csv": "prompt\n\"never closed\n"})
    assert r.status == 400, (r.status, r.text[:1500])
    assert "第 2 行：带引号的字段没有闭合" in text_of(r.text), \
        text_of(r.text)[:3000]
    c.lang = EN
    r = c.post("/batch", {"csrf": csrf, "csv": "prompt\n\"never closed\n"})
    assert "row 2: a quoted field is not closed" in text_of(r.text)
