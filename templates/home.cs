<?cs # home.cs - the front page: site status read from the database. ?>
<section class="hero">
  <h1><?cs var:Site.Name ?></h1>
  <p class="tagline"><?cs var:Home.Tagline ?></p>
</section>
<?cs if:Home.DbDown ?>
<p class="notice error">The database is unreachable right now. Pages that need it will be back when it is.</p>
<?cs else ?>
<section class="status">
  <h2>Render daemons</h2>
  <?cs if:Home.DaemonCount == 0 ?>
  <p class="muted">No render daemon has reported in yet.</p>
  <?cs else ?>
  <table class="daemons">
    <thead><tr><th>Name</th><th>Host</th><th>State</th><th>Devices</th><th>Last heartbeat (UTC)</th></tr></thead>
    <tbody>
    <?cs each:d = Home.Daemons ?>
    <tr class="<?cs if:d.Online ?>online<?cs else ?>offline<?cs /if ?>">
      <td><?cs var:d.Name ?></td>
      <td><?cs var:d.Host ?></td>
      <td><?cs if:d.Online ?><?cs var:d.State ?><?cs else ?>offline<?cs /if ?></td>
      <td><?cs var:d.Devices ?></td>
      <td><?cs var:d.Heartbeat ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
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
  <p class="muted">Database schema version <?cs var:Home.SchemaVersion ?>, <?cs var:Home.UserCount ?> user account(s).</p>
</section>
<?cs /if ?>
