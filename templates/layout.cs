<?cs # layout.cs - the one page frame; Page.Template names the body. Theme
(the switch's cookie) is set by the server so the first paint is right. ?>
<?cs include:"confirm.cs" ?><!doctype html>
<html lang="<?cs var:Lang ?>"<?cs if:Theme ?> data-theme="<?cs var:Theme ?>"<?cs /if ?>>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="<?cs if:Theme ?><?cs var:Theme ?><?cs else ?>light dark<?cs /if ?>">
<title><?cs var:Page.Title ?> · <?cs var:Site.Name ?></title>
<link rel="icon" href="<?cs var:Static.Url ?>/favicon.svg" type="image/svg+xml">
<link rel="icon" href="<?cs var:Static.Url ?>/favicon.png" type="image/png" sizes="32x32">
<link rel="apple-touch-icon" href="<?cs var:Static.Url ?>/apple-touch-icon.png">
<link rel="stylesheet" href="<?cs var:Static.Url ?>/kiln.css">
<?cs if:Page.Refresh ?><noscript><meta http-equiv="refresh" content="<?cs var:Page.Refresh ?>"></noscript><?cs /if ?>
<?cs # copy.js: the copy buttons beside keys, codes and links. ?>
<script src="<?cs var:Static.Url ?>/copy.js" defer></script>
<?cs each:s = Page.Scripts ?><script src="<?cs var:Static.Url ?>/<?cs var:s ?>" defer></script>
<?cs /each ?>
</head>
<body>
<header class="top">
  <a class="brand" href="/"><img src="<?cs var:Static.Url ?>/favicon.svg" alt="" width="28" height="28"> <?cs var:Site.Name ?></a>
  <?cs # A <details> menu: on narrow screens a Menu button opens it, with
  or without scripts; on wide ones the stylesheet shows it always. ?>
  <details class="menu">
    <summary><?cs var:_("Menu") ?></summary>
    <nav aria-label="<?cs var:_("Site") ?>">
      <a href="/"><?cs var:_("Home") ?></a>
      <a href="/explore"><?cs var:_("Explore") ?></a>
      <?cs if:User.Username ?>
      <a href="/generate"><?cs var:_("Generate") ?></a> <a href="/batch"><?cs var:_("Batch") ?></a> <a href="/gallery"><?cs var:_("Gallery") ?></a> <a href="/jobs"><?cs var:_("Jobs") ?></a> <a href="/teams"><?cs var:_("Teams") ?></a> <a href="/projects"><?cs var:_("Projects") ?></a> <a href="/usage"><?cs var:_("Usage") ?></a>
      <a href="/account"><?cs var:_("Account") ?></a> <a href="/account/keys"><?cs var:_("API keys") ?></a>
      <?cs if:User.IsModerator ?><a href="/admin/reports"><?cs var:_("Reports") ?></a><?cs /if ?>
      <?cs if:User.IsAdmin ?><a href="/admin/queue"><?cs var:_("Queue") ?></a> <a href="/admin/users"><?cs var:_("Users") ?></a> <a href="/admin/audit"><?cs var:_("Audit log") ?></a> <a href="/admin/settings"><?cs var:_("Settings") ?></a> <a href="/admin/incidents"><?cs var:_("Incidents") ?></a> <a href="/admin/maintenance"><?cs var:_("Maintenance") ?></a> <a href="/admin/alerts"><?cs var:_("Alerts") ?></a><?cs /if ?>
      <form method="post" action="/logout" class="inline logout">
        <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
        <span class="who"><?cs var:User.Name ?></span> <button type="submit" class="link"><?cs var:_("Log out") ?></button>
      </form>
      <?cs else ?>
      <a href="/login"><?cs var:_("Log in") ?></a> <a href="/register"><?cs var:_("Register") ?></a>
      <?cs /if ?>
    </nav>
  </details>
</header>
<?cs # An open incident (view.c's set_incident_banner): one line, to /status. ?>
<?cs if:Incident.Title ?><p class="notice incident-banner <?cs var:Incident.Severity ?>" role="status" id="incident-banner"><a href="/status"><?cs var:_("Service incident:") ?> <?cs var:Incident.Title ?><?cs if:Incident.Open > 1 ?> <?cs var:subst1(_("(and {n} more)"), Incident.Open - 1) ?><?cs /if ?></a></p><?cs /if ?>
<?cs if:Maintenance.Title ?><p class="notice maintenance-banner" role="status" id="maintenance-banner"><a href="/status"><?cs if:Maintenance.Active ?><?cs var:_("Maintenance in progress:") ?><?cs else ?><?cs var:_("Scheduled maintenance:") ?><?cs /if ?> <?cs var:Maintenance.Title ?> (<?cs var:localtime(Maintenance.Start) ?> – <?cs var:localtime(Maintenance.End) ?>)</a></p><?cs /if ?>
<main>
<?cs if:Flash ?><p class="notice ok flash" role="status" id="flash"><?cs var:Flash ?></p><?cs /if ?>
<?cs include:Page.Template ?>
</main>
<footer>
  <form method="post" action="/theme" class="theme" aria-label="<?cs var:_("Colour theme") ?>">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <input type="hidden" name="next" value="<?cs var:Page.Path ?>">
    <span><?cs var:_("Theme") ?></span>
    <button type="submit" name="theme" value="auto" class="toggle" aria-pressed="<?cs if:Theme ?>false<?cs else ?>true<?cs /if ?>"><?cs var:_("Auto") ?></button>
    <button type="submit" name="theme" value="light" class="toggle" aria-pressed="<?cs if:Theme == "light" ?>true<?cs else ?>false<?cs /if ?>"><?cs var:_("Light") ?></button>
    <button type="submit" name="theme" value="dark" class="toggle" aria-pressed="<?cs if:Theme == "dark" ?>true<?cs else ?>false<?cs /if ?>"><?cs var:_("Dark") ?></button>
  </form>
  <?cs # The language switch: each language named in itself. ?>
  <form method="post" action="/language" class="theme language" aria-label="<?cs var:_("Language") ?>">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <input type="hidden" name="next" value="<?cs var:Page.Path ?>">
    <span><?cs var:_("Language") ?></span>
    <button type="submit" name="language" value="en" class="toggle" lang="en" aria-pressed="<?cs if:Lang == "en" ?>true<?cs else ?>false<?cs /if ?>">English</button>
    <button type="submit" name="language" value="zh-CN" class="toggle" lang="zh-CN" aria-pressed="<?cs if:Lang == "zh-CN" ?>true<?cs else ?>false<?cs /if ?>">简体中文</button>
  </form>
  <p><a href="/status"><?cs var:_("Status") ?></a></p>
  <p>kiln <?cs var:Site.Version ?></p>
</footer>
</body>
</html>
