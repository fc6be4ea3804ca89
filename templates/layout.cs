<?cs # layout.cs - the one page frame; Page.Template names the body. Theme
(the switch's cookie) is set by the server so the first paint is right. ?>
<?cs include:"confirm.cs" ?><!doctype html>
<html lang="en"<?cs if:Theme ?> data-theme="<?cs var:Theme ?>"<?cs /if ?>>
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
<?cs each:s = Page.Scripts ?><script src="<?cs var:Static.Url ?>/<?cs var:s ?>" defer></script>
<?cs /each ?>
</head>
<body>
<header class="top">
  <a class="brand" href="/"><img src="<?cs var:Static.Url ?>/favicon.svg" alt="" width="28" height="28"> <?cs var:Site.Name ?></a>
  <?cs # A <details> menu: on narrow screens a Menu button opens it, with
  or without scripts; on wide ones the stylesheet shows it always. ?>
  <details class="menu">
    <summary>Menu</summary>
    <nav aria-label="Site">
      <a href="/">Home</a>
      <a href="/explore">Explore</a>
      <?cs if:User.Username ?>
      <a href="/generate">Generate</a> <a href="/batch">Batch</a> <a href="/gallery">Gallery</a> <a href="/jobs">Jobs</a> <a href="/usage">Usage</a>
      <a href="/account">Account</a> <a href="/account/keys">API keys</a>
      <?cs if:User.IsModerator ?><a href="/admin/reports">Reports</a><?cs /if ?>
      <?cs if:User.IsAdmin ?><a href="/admin/queue">Queue</a> <a href="/admin/users">Users</a> <a href="/admin/audit">Audit log</a> <a href="/admin/settings">Settings</a><?cs /if ?>
      <form method="post" action="/logout" class="inline logout">
        <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
        <span class="who"><?cs var:User.Name ?></span> <button type="submit" class="link">Log out</button>
      </form>
      <?cs else ?>
      <a href="/login">Log in</a> <a href="/register">Register</a>
      <?cs /if ?>
    </nav>
  </details>
</header>
<main>
<?cs if:Flash ?><p class="notice ok flash" role="status" id="flash"><?cs var:Flash ?></p><?cs /if ?>
<?cs include:Page.Template ?>
</main>
<footer>
  <form method="post" action="/theme" class="theme" aria-label="Colour theme">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <input type="hidden" name="next" value="<?cs var:Page.Path ?>">
    <span>Theme</span>
    <button type="submit" name="theme" value="auto" class="toggle" aria-pressed="<?cs if:Theme ?>false<?cs else ?>true<?cs /if ?>">Auto</button>
    <button type="submit" name="theme" value="light" class="toggle" aria-pressed="<?cs if:Theme == "light" ?>true<?cs else ?>false<?cs /if ?>">Light</button>
    <button type="submit" name="theme" value="dark" class="toggle" aria-pressed="<?cs if:Theme == "dark" ?>true<?cs else ?>false<?cs /if ?>">Dark</button>
  </form>
  <p>kiln <?cs var:Site.Version ?></p>
</footer>
</body>
</html>
