<?cs # admin_incidents.cs - open incidents with their update forms, the form
to open one, and the recently resolved (page_admin_incidents.c). ?>
<?cs def:severity_name(s) ?><?cs if:s == "minor" ?><?cs var:_("Minor") ?><?cs elif:s == "major" ?><?cs var:_("Major") ?><?cs elif:s == "critical" ?><?cs var:_("Critical") ?><?cs /if ?><?cs /def ?>
<section class="admin">
  <h1><?cs var:_("Incidents") ?></h1>
  <p class="muted"><?cs var:_("Open incidents show on the status page, in its feed and as a banner on every page until resolved.") ?> <a href="/status"><?cs var:_("Status page") ?></a></p>
  <h2><?cs var:_("Open incidents") ?></h2>
  <?cs if:subcount(Incidents.Open) == 0 ?><p class="muted" id="incidents-empty"><?cs var:_("No open incidents.") ?></p><?cs /if ?>
  <?cs each:i = Incidents.Open ?>
  <article class="incident <?cs var:i.Severity ?>" id="incident-<?cs var:i.Id ?>">
    <h3><?cs var:i.Title ?> <span class="muted">(<?cs call:severity_name(i.Severity) ?>; <?cs var:i.Components ?>)</span></h3>
    <p class="muted"><?cs var:_("Opened") ?> <?cs var:localtime(i.Created) ?> · <?cs var:_("Last update") ?> <?cs var:localtime(i.Updated) ?></p>
    <form method="post" action="/admin/incidents/<?cs var:i.Id ?>/update" class="stack">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <label for="status-<?cs var:i.Id ?>"><?cs var:_("Status") ?></label>
      <select id="status-<?cs var:i.Id ?>" name="status">
        <option value="investigating"<?cs if:i.Status == "investigating" ?> selected<?cs /if ?>><?cs var:_("Investigating") ?></option>
        <option value="identified"<?cs if:i.Status == "identified" ?> selected<?cs /if ?>><?cs var:_("Identified") ?></option>
        <option value="monitoring"<?cs if:i.Status == "monitoring" ?> selected<?cs /if ?>><?cs var:_("Monitoring") ?></option>
        <option value="resolved"><?cs var:_("Resolved") ?></option>
      </select>
      <label for="message-<?cs var:i.Id ?>"><?cs var:_("Message") ?></label>
      <textarea id="message-<?cs var:i.Id ?>" name="message" rows="3" maxlength="5000" required></textarea>
      <button type="submit"><?cs var:_("Post update") ?></button>
    </form>
  </article>
  <?cs /each ?>
  <h2><?cs var:_("Open an incident") ?></h2>
  <form method="post" action="/admin/incidents" class="stack" id="incident-open">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="title"><?cs var:_("Title") ?></label>
    <input id="title" name="title" maxlength="200" required>
    <label for="components"><?cs var:_("Affected components") ?></label>
    <input id="components" name="components" maxlength="500" required aria-describedby="components-help">
    <small id="components-help" class="muted"><?cs var:_("Separated by commas: web, queue, or a model's name as the status page lists it.") ?></small>
    <label for="severity"><?cs var:_("Severity") ?></label>
    <select id="severity" name="severity">
      <option value="minor"><?cs var:_("Minor") ?></option>
      <option value="major"><?cs var:_("Major") ?></option>
      <option value="critical"><?cs var:_("Critical") ?></option>
    </select>
    <label for="message"><?cs var:_("Message") ?></label>
    <textarea id="message" name="message" rows="3" maxlength="5000" required></textarea>
    <button type="submit"><?cs var:_("Open incident") ?></button>
  </form>
  <h2><?cs var:_("Recently resolved") ?></h2>
  <?cs if:subcount(Incidents.Resolved) == 0 ?><p class="muted"><?cs var:_("None.") ?></p><?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Title") ?></th><th><?cs var:_("Severity") ?></th><th><?cs var:_("Affected components") ?></th><th><?cs var:_("Opened") ?></th><th><?cs var:_("Resolved") ?></th></tr></thead>
    <tbody>
    <?cs each:i = Incidents.Resolved ?>
    <tr><td><?cs var:i.Title ?></td><td><?cs call:severity_name(i.Severity) ?></td><td><?cs var:i.Components ?></td><td><?cs var:localtime(i.Created) ?></td><td><?cs var:localtime(i.Resolved) ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
