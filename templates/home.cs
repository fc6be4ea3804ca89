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
  <p class="muted">Database schema version <?cs var:Home.SchemaVersion ?>, <?cs var:Home.UserCount ?> user account(s).</p>
</section>
<?cs /if ?>
