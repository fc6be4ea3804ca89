<?cs # admin_queue.cs - the queue, the render daemons, every job. ?>
<section class="admin">
  <h1><?cs var:_("Queue") ?></h1>
  <?cs if:Queue.Done ?><p class="notice ok" role="status"><?cs var:Queue.Done ?></p><?cs /if ?>
  <?cs with:st = Queue.Stats.0 ?>
  <ul class="stats">
    <li><strong id="queue-depth"><?cs if:st.Queued ?><?cs var:st.Queued ?><?cs else ?>0<?cs /if ?></strong> <?cs var:_("queued") ?></li>
    <li><strong><?cs if:st.Running ?><?cs var:st.Running ?><?cs else ?>0<?cs /if ?></strong> <?cs var:_("running") ?></li>
    <li><?cs var:_("oldest waiting") ?> <strong><?cs var:st.OldestWait ?> s</strong></li>
    <li><?cs var:_("mean wait (last hour)") ?> <strong><?cs if:st.MeanWait ?><?cs var:st.MeanWait ?> s<?cs else ?>-<?cs /if ?></strong></li>
    <li><?cs var:_("mean render (last day)") ?> <strong><?cs if:st.MeanRender ?><?cs var:st.MeanRender ?> s<?cs else ?>-<?cs /if ?></strong></li>
    <li><strong><?cs if:st.Failed24h ?><?cs var:st.Failed24h ?><?cs else ?>0<?cs /if ?></strong> <?cs var:_("failed (last day)") ?></li>
    <li><a href="/admin/queue?anomaly=1"><strong><?cs if:st.Anomalies ?><?cs var:st.Anomalies ?><?cs else ?>0<?cs /if ?></strong> <?cs var:_("slow renders") ?></a> <?cs var:_("(over mean + 3 sd)") ?></li>
  </ul>
  <?cs /with ?>
  <h2><?cs var:_("Render daemons") ?></h2>
  <?cs if:subcount(Queue.Daemons) == 0 ?><p class="muted"><?cs var:_("No render daemon has reported in yet.") ?></p><?cs else ?>
  <table class="list daemons">
    <thead><tr><th><?cs var:_("Name") ?></th><th><?cs var:_("Host") ?></th><th><?cs var:_("State") ?></th><th><?cs var:_("Devices") ?></th><th><?cs var:_("Heartbeat") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Job") ?></th></tr></thead>
    <tbody>
    <?cs each:d = Queue.Daemons ?>
    <tr class="<?cs if:d.Online == "1" ?>online<?cs else ?>offline<?cs /if ?>">
      <td><?cs var:d.Name ?></td><td><?cs var:d.Host ?></td>
      <td><?cs if:d.Online == "1" ?><?cs var:d.State ?><?cs else ?><?cs var:_("offline") ?><?cs /if ?></td>
      <td><?cs var:d.Devices ?></td><td><?cs var:localtime(d.Heartbeat) ?></td>
      <td><?cs if:d.JobId ?><?cs var:_("job") ?> <?cs var:d.JobId ?>, <?cs var:_("step") ?> <?cs var:d.JobStep ?>/<?cs var:d.JobSteps ?><?cs /if ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <?cs with:site = Queue.Site.0 ?><p class="muted" id="site-facts"><?cs var:site.Users ?> <?cs if:site.Users != 1 ?><?cs var:_("user accounts") ?><?cs else ?><?cs var:_("user account") ?><?cs /if ?>, <?cs var:_("database schema version") ?> <?cs var:site.SchemaVersion ?>.</p><?cs /with ?>
  <h2><?cs var:_("Jobs") ?></h2>
  <form method="get" action="/admin/queue" class="search">
    <label for="status"><?cs var:_("Status") ?></label>
    <select id="status" name="status"><option value=""><?cs var:_("any") ?></option>
      <?cs each:s = Queue.Statuses ?><option value="<?cs var:s ?>"<?cs if:Queue.Filter.Status == s ?> selected<?cs /if ?>><?cs var:_(s) ?></option><?cs /each ?>
    </select>
    <label for="user"><?cs var:_("User") ?></label>
    <input id="user" name="user" value="<?cs var:Queue.Filter.User ?>">
    <label><input type="checkbox" name="anomaly" value="1"<?cs if:Queue.Filter.Anomaly == "1" ?> checked<?cs /if ?>> <?cs var:_("slow only") ?></label>
    <button type="submit"><?cs var:_("Filter") ?></button>
  </form>
  <table class="list">
    <thead><tr><th><?cs var:_("Job") ?></th><th><?cs var:_("User") ?></th><th><?cs var:_("Status") ?></th><th><?cs var:_("Prompt") ?></th><th><?cs var:_("Model") ?></th><th><?cs var:_("Size") ?></th><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Daemon") ?></th><th><?cs var:_("Render") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:j = Queue.Jobs ?>
    <tr id="job-<?cs var:j.Id ?>"<?cs if:j.Anomaly == "1" ?> class="anomaly"<?cs /if ?>>
      <td><?cs var:j.Id ?></td><td><?cs var:j.User ?></td>
      <td><span class="status status-<?cs var:j.Status ?>"><?cs var:_(j.Status) ?></span><?cs if:j.Anomaly == "1" ?> <span class="badge" title="<?cs var:_("render time over mean + 3 standard deviations") ?>"><?cs var:_("slow") ?></span><?cs /if ?><?cs if:j.Attempt > 1 ?> <span class="muted"><?cs var:_("attempt") ?> <?cs var:j.Attempt ?></span><?cs /if ?></td>
      <td class="prompt"><?cs var:j.Prompt ?><?cs if:j.Error ?><br><span class="field-error"><?cs var:j.Error ?></span><?cs /if ?></td>
      <td><?cs var:j.Model ?></td><td><?cs var:j.Width ?>&times;<?cs var:j.Height ?>, <?cs var:j.Steps ?> <?cs var:_("steps") ?><?cs if:j.Batch > 1 ?> &times;<?cs var:j.Batch ?><?cs /if ?></td>
      <td><?cs var:localtime(j.Created) ?></td><td><?cs var:j.Daemon ?></td><td><?cs if:j.RenderS ?><?cs var:j.RenderS ?> s<?cs /if ?></td>
      <td><?cs if:j.Status == "queued" || j.Status == "running" ?>
        <?cs call:confirm("/admin/queue/" + j.Id + "/cancel", _("Cancel"), _("Cancel job") + " " + j.Id + " (" + j.User + ")?", _("Yes, cancel it"), "small") ?>
        <?cs elif:j.Status == "failed" || j.Status == "canceled" ?>
        <form method="post" action="/admin/queue/<?cs var:j.Id ?>/requeue" class="inline"><input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>"><button type="submit" class="small"><?cs var:_("Requeue") ?></button></form>
        <?cs /if ?></td>
    </tr>
    <?cs set:last = j.Id ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Queue.Count == 100 ?><p><a href="/admin/queue?status=<?cs var:url_escape(Queue.Filter.Status) ?>&amp;user=<?cs var:url_escape(Queue.Filter.User) ?>&amp;anomaly=<?cs var:url_escape(Queue.Filter.Anomaly) ?>&amp;before=<?cs var:last ?>"><?cs var:_("Older jobs") ?></a></p><?cs /if ?>
</section>
