<?cs # home.cs - the front page: whether rendering is available and the default model; nothing about hosts or accounts, since anyone sees it. ?>
<section class="hero">
  <h1><?cs var:Site.Name ?></h1>
  <p class="tagline"><?cs var:Home.Tagline ?></p>
</section>
<?cs if:Home.DbDown ?>
<p class="notice error">The database is unreachable right now. Pages that need it will be back when it is.</p>
<?cs else ?>
<section class="status">
  <h2>Rendering</h2>
  <?cs if:Home.DaemonsOnline > 0 ?>
  <p class="rendering">Rendering available: <?cs var:Home.DaemonsOnline ?> render daemon<?cs if:Home.DaemonsOnline != 1 ?>s<?cs /if ?> online.</p>
  <?cs else ?>
  <p class="rendering muted">No render daemon is online right now; new jobs wait in the queue until one is.</p>
  <?cs /if ?>
  <h2>Default model</h2>
  <?cs if:Home.Model.Missing ?>
  <p class="notice error">The default model <?cs var:Home.Model.Name ?> is not installed or its kiln.json is broken; the web server's error log says which.</p>
  <?cs else ?>
  <p class="model"><strong><?cs var:Home.Model.Name ?></strong><?cs if:Home.Model.Width ?> (<?cs var:Home.Model.Width ?>&times;<?cs var:Home.Model.Height ?>)<?cs /if ?>: <?cs var:Home.Model.Description ?></p>
  <?cs if:subcount(Home.Model.Examples) > 0 ?>
  <p>Prompts it knows how to draw:</p>
  <ul class="examples">
    <?cs each:e = Home.Model.Examples ?><li><q><?cs var:e ?></q></li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
  <?cs /if ?>
</section>
<?cs /if ?>
