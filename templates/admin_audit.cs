<?cs # admin_audit.cs - the audit log: who did what, when, from where. ?>
<section class="admin">
  <h1><?cs var:_("Audit log") ?></h1>
  <form method="get" action="/admin/audit" class="search">
    <label for="q"><?cs var:_("Actor or target") ?></label>
    <input id="q" name="q" value="<?cs var:Audit.Q ?>">
    <label for="action"><?cs var:_("Action") ?></label>
    <select id="action" name="action">
      <option value=""><?cs var:_("any") ?></option>
      <?cs each:a = Audit.Actions ?><option<?cs if:Audit.Action == a ?> selected<?cs /if ?>><?cs var:a ?></option><?cs /each ?>
    </select>
    <button type="submit"><?cs var:_("Filter") ?></button>
  </form>
  <table class="list">
    <thead><tr><th><?cs var:_("Time") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Actor") ?></th><th><?cs var:_("Address") ?></th><th><?cs var:_("Action") ?></th><th><?cs var:_("Target") ?></th><th><?cs var:_("Detail") ?></th></tr></thead>
    <tbody>
    <?cs each:e = Audit.List ?>
    <tr class="audit-<?cs var:e.Action ?>"><td><?cs var:localtime(e.At) ?></td><td><?cs var:e.Actor ?></td><td><?cs var:e.Ip ?></td><td><?cs var:e.Action ?></td>
      <td><?cs if:e.TargetId ?><a href="/admin/users/<?cs var:e.TargetId ?>"><?cs var:e.Target ?></a><?cs else ?><?cs var:e.Target ?><?cs /if ?></td><td><?cs var:e.Detail ?></td></tr>
    <?cs set:last = e.Id ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Audit.Count == 100 ?><p><a href="/admin/audit?q=<?cs var:url_escape(Audit.Q) ?>&amp;action=<?cs var:url_escape(Audit.Action) ?>&amp;before=<?cs var:last ?>"><?cs var:_("Older entries") ?></a></p><?cs /if ?>
</section>
