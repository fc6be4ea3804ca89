<?cs # layout.cs - the one page frame; Page.Template names the body. ?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><?cs var:Page.Title ?> · <?cs var:Site.Name ?></title>
<link rel="stylesheet" href="<?cs var:Static.Url ?>/kiln.css">
<?cs if:Page.Refresh ?><noscript><meta http-equiv="refresh" content="<?cs var:Page.Refresh ?>"></noscript><?cs /if ?>
<?cs each:s = Page.Scripts ?><script src="<?cs var:Static.Url ?>/<?cs var:s ?>" defer></script>
<?cs /each ?>
</head>
<body>
<header class="top">
  <a class="brand" href="/"><?cs var:Site.Name ?></a>
  <nav>
    <a href="/">Home</a>
    <?cs if:User.Username ?>
    <a href="/generate">Generate</a> <a href="/gallery">Gallery</a> <a href="/jobs">Jobs</a> <a href="/usage">Usage</a>
    <a href="/account">Account</a> <a href="/account/keys">API keys</a>
    <?cs if:User.IsAdmin ?><a href="/admin/queue">Queue</a> <a href="/admin/users">Users</a> <a href="/admin/audit">Audit log</a> <a href="/admin/settings">Settings</a><?cs /if ?>
    <form method="post" action="/logout" class="inline logout">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <span class="who"><?cs var:User.Name ?></span> <button type="submit" class="link">Log out</button>
    </form>
    <?cs else ?>
    <a href="/login">Log in</a> <a href="/register">Register</a>
    <?cs /if ?>
  </nav>
</header>
<main>
<?cs include:Page.Template ?>
</main>
<footer>kiln <?cs var:Site.Version ?></footer>
</body>
</html>
