<?cs # usage.cs - images made and credits spent per day. ?>
<section class="usage">
  <h1><?cs var:_("Usage") ?></h1>
  <p><?cs var:_("Over the last") ?> <?cs var:Usage.DaysN ?> <?cs var:_("days:") ?> <strong><?cs var:Usage.Total.Images ?></strong> <?cs var:_("images from") ?> <?cs var:Usage.Total.Jobs ?> <?cs if:Usage.Total.Jobs != 1 ?><?cs var:_("jobs,") ?><?cs else ?><?cs var:_("job,") ?><?cs /if ?> <strong><?cs var:Usage.Total.Credits ?></strong> <?cs var:_("credits.") ?> <?cs var:_("Balance now:") ?> <strong id="balance"><?cs var:Usage.Balance.0.Credits ?></strong> <?cs var:_("credits.") ?></p>
  <p class="muted"><?cs var:_("A job counts on the day it was submitted (server time); credits given back for failed or canceled jobs are not counted.") ?></p>
  <img src="/usage/chart.png" alt="<?cs var:_("Bar charts of images and credits per day") ?>" width="720" height="300" class="chart">
  <table class="list" id="usage-table">
    <thead><tr><th><?cs var:_("Day") ?></th><th><?cs var:_("Jobs") ?></th><th><?cs var:_("Images") ?></th><th><?cs var:_("Credits") ?></th></tr></thead>
    <tbody>
    <?cs each:d = Usage.Days ?>
    <tr<?cs if:d.Jobs == 0 ?> class="idle"<?cs /if ?>><td><?cs var:d.Date ?></td><td><?cs var:d.Jobs ?></td><td><?cs var:d.Images ?></td><td><?cs var:d.Credits ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
