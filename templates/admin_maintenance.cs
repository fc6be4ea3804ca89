<?cs # admin_maintenance.cs - the windows not yet over, with a cancel button
each, and the form to schedule one (page_admin_maintenance.c). ?>
<section class="admin">
  <h1><?cs var:_("Maintenance") ?></h1>
  <p class="muted"><?cs var:_("During a window new jobs are refused with 503 and Retry-After, or queued and held until it ends; running jobs finish. The status page lists it and every page warns a day ahead.") ?> <a href="/status"><?cs var:_("Status page") ?></a></p>
  <h2><?cs var:_("Scheduled windows") ?></h2>
  <?cs if:subcount(Maintenance.List) == 0 ?><p class="muted" id="maintenance-empty"><?cs var:_("None scheduled.") ?></p><?cs else ?>
  <table class="list" id="maintenance-list">
    <thead><tr><th><?cs var:_("Title") ?></th><th><?cs var:_("Start") ?></th><th><?cs var:_("End") ?></th><th><?cs var:_("New jobs") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:m = Maintenance.List ?>
    <tr id="window-<?cs var:m.Id ?>">
      <td><?cs var:m.Title ?><?cs if:m.Active == "1" ?> <span class="muted">(<?cs var:_("in progress") ?>)</span><?cs /if ?></td>
      <td><?cs var:localtime(m.Starts) ?></td><td><?cs var:localtime(m.Ends) ?></td>
      <td><?cs if:m.Mode == "hold" ?><?cs var:_("held") ?><?cs else ?><?cs var:_("refused") ?><?cs /if ?></td>
      <td><form method="post" action="/admin/maintenance/<?cs var:m.Id ?>/cancel" class="inline">
        <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
        <button type="submit" class="small secondary"><?cs var:_("Cancel") ?></button>
      </form></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <h2><?cs var:_("Schedule a window") ?></h2>
  <form method="post" action="/admin/maintenance" class="stack" id="maintenance-new">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="title"><?cs var:_("Title") ?></label>
    <input id="title" name="title" maxlength="200" required>
    <label for="starts_at"><?cs var:_("Start (UTC, YYYY-MM-DD HH:MM)") ?></label>
    <input id="starts_at" name="starts_at" maxlength="16" required>
    <label for="minutes"><?cs var:_("Length in minutes") ?></label>
    <input id="minutes" name="minutes" type="number" min="1" max="10080" value="60" required>
    <label for="mode"><?cs var:_("New jobs") ?></label>
    <select id="mode" name="mode">
      <option value="refuse"><?cs var:_("Refuse them (503 with Retry-After)") ?></option>
      <option value="hold"><?cs var:_("Queue them and hold them until the end") ?></option>
    </select>
    <label for="message"><?cs var:_("Message") ?></label>
    <textarea id="message" name="message" rows="3" maxlength="5000"></textarea>
    <button type="submit"><?cs var:_("Schedule") ?></button>
  </form>
</section>
