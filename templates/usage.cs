<?cs # usage.cs - images made and credits spent per day. ?>
<section class="usage">
  <h1>Usage</h1>
  <p>Over the last <?cs var:Usage.DaysN ?> days: <strong><?cs var:Usage.Total.Images ?></strong> images from <?cs var:Usage.Total.Jobs ?> job<?cs if:Usage.Total.Jobs != 1 ?>s<?cs /if ?>, <strong><?cs var:Usage.Total.Credits ?></strong> credits. Balance now: <strong id="balance"><?cs var:Usage.Balance.0.Credits ?></strong> credits.</p>
  <p class="muted">A job counts on the day it was submitted (server time); credits given back for failed or canceled jobs are not counted.</p>
  <img src="/usage/chart.png" alt="Bar charts of images and credits per day over the last <?cs var:Usage.DaysN ?> days" width="720" height="300" class="chart">
  <table class="list" id="usage-table">
    <thead><tr><th>Day</th><th>Jobs</th><th>Images</th><th>Credits</th></tr></thead>
    <tbody>
    <?cs each:d = Usage.Days ?>
    <tr<?cs if:d.Jobs == 0 ?> class="idle"<?cs /if ?>><td><?cs var:d.Date ?></td><td><?cs var:d.Jobs ?></td><td><?cs var:d.Images ?></td><td><?cs var:d.Credits ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
