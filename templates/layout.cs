<?cs # layout.cs - the one page frame; Page.Template names the body. ?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><?cs var:Page.Title ?> · <?cs var:Site.Name ?></title>
<link rel="stylesheet" href="<?cs var:Static.Url ?>/kiln.css">
</head>
<body>
<header class="top">
  <a class="brand" href="/"><?cs var:Site.Name ?></a>
  <nav><a href="/">Home</a> <a href="/api/v1/health">API health</a></nav>
</header>
<main>
<?cs include:Page.Template ?>
</main>
<footer>kiln <?cs var:Site.Version ?></footer>
</body>
</html>
