<?cs # admin_queue.cs - the queue, the render daemons, every job. ?>
<section class="admin">
  <h1>Queue</h1>
  <?cs if:Queue.Done ?><p class="notice ok" role="status"><?cs var:Queue.Done ?></p><?cs /if ?>
  <?cs with:st = Queue.Stats.0 ?>
  <ul class="stats">
    <li><strong id="queue-depth"><?cs if:st.Queued ?><?cs var:st.Queued ?><?cs else ?>0<?cs /if ?></strong> queued</li>
    <li><strong><?cs if:st.Running ?><?cs var:st.Running ?><?cs else ?>0<?cs /if ?></strong> running</li>
    <li>oldest waiting <strong><?cs var:st.OldestWait ?> s</strong></li>
    <li>mean wait (last hour) <strong><?cs if:st.MeanWait ?><?cs var:st.MeanWait ?> s<?cs else ?>-<?cs /if ?></strong></li>
    <li>mean render (last day) <strong><?cs if:st.MeanRender ?><?cs var:st.MeanRender ?> s<?cs else ?>-<?cs /if ?></strong></li>
    <li><strong><?cs if:st.Failed24h ?><?cs var:st.Failed24h ?><?cs else ?>0<?cs /if ?></strong> failed (last day)</li>
    <li><a href="/admin/queue?anomaly=1"><strong><?cs if:st.Anomalies ?><?cs var:st.Anomalies ?><?cs else ?>0<?cs /if ?></strong> slow renders</a> (over mean + 3 sd)</li>
  </ul>
  <?cs /with ?>
  <h2>Render daemons</h2>
  <?cs if:subcount(Queue.Daemons) == 0 ?><p class="muted">No render daemon has reported in yet.</p><?cs else ?>
  <table class="list daemons">
    <thead><tr><th>Name</th><th>Host</th><th>State</th><th>Devices</th><th>Heartbeat (UTC)</th><th>Job</th></tr></thead>
    <tbody>
    <?cs each:d = Queue.Daemons ?>
    <tr class="<?cs if:d.Online == "1" ?>online<?cs else ?>offline<?cs /if ?>">
      <td><?cs var:d.Name ?></td><td><?cs var:d.Host ?></td>
      <td><?cs if:d.Online == "1" ?><?cs var:d.State ?><?cs else ?>offline<?cs /if ?></td>
      <td><?cs var:d.Devices ?></td><td><?cs var:d.Heartbeat ?></td>
      <td><?cs if:d.JobId ?>job <?cs var:d.JobId ?>, step <?cs var:d.JobStep ?>/<?cs var:d.JobSteps ?><?cs /if ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <?cs with:site = Queue.Site.0 ?><p class="muted" id="site-facts"><?cs var:site.Users ?> user account<?cs if:site.Users != 1 ?>s<?cs /if ?>, database schema version <?cs var:site.SchemaVersion ?>.</p><?cs /with ?>
  <h2>Jobs</h2>
  <form method="get" action="/admin/queue" class="search">
    <label for="status">Status</label>
    <select id="status" name="status"><option value="">any</option>
      <?cs each:s = Queue.Statuses ?><option<?cs if:Queue.Filter.Status == s ?> selected<?cs /if ?>><?cs var:s ?></option><?cs /each ?>
    </select>
    <label for="user">User</label>
    <input id="user" name="user" value="<?cs var:Queue.Filter.User ?>">
    <label><input type="checkbox" name="anomaly" value="1"<?cs if:Queue.Filter.Anomaly == "1" ?> checked<?cs /if ?>> slow only</label>
    <button type="submit">Filter</button>
  </form>
  <table class="list">
    <thead><tr><th>Job</th><th>User</th><th>Status</th><th>Prompt</th><th>Model</th><th>Size</th><th>Created (UTC)</th><th>Daemon</th><th>Render</th><th></th></tr></thead>
    <tbody>
    <?cs each:j = Queue.Jobs ?>
    <tr id="job-<?cs var:j.Id ?>"<?cs if:j.Anomaly == "1" ?> class="anomaly"<?cs /if ?>>
      <td><?cs var:j.Id ?></td><td><?cs var:j.User ?></td>
      <td><span class="status status-<?cs var:j.Status ?>"><?cs var:j.Status ?></span><?cs if:j.Anomaly == "1" ?> <span class="badge" title="render time over mean + 3 standard deviations">slow</span><?cs /if ?><?cs if:j.Attempt > 1 ?> <span class="muted">attempt <?cs var:j.Attempt ?></span><?cs /if ?></td>
      <td class="prompt"><?cs var:j.Prompt ?><?cs if:j.Error ?><br><span class="field-error"><?cs var:j.Error ?></span><?cs /if ?></td>
      <td><?cs var:j.Model ?></td><td><?cs var:j.Width ?>&times;<?cs var:j.Height ?>, <?cs var:j.Steps ?> steps<?cs if:j.Batch > 1 ?> &times;<?cs var:j.Batch ?><?cs /if ?></td>
      <td><?cs var:j.Created ?></td><td><?cs var:j.Daemon ?></td><td><?cs if:j.RenderS ?><?cs var:j.RenderS ?> s<?cs /if ?></td>
      <td><?cs if:j.Status == "queued" || j.Status == "running" ?>
        <?cs call:confirm("/admin/queue/" + j.Id + "/cancel", "Cancel", "Cancel job " + j.Id + " of " + j.User + "?", "Yes, cancel it", "small") ?>
        <?cs elif:j.Status == "failed" || j.Status == "canceled" ?>
        <form method="post" action="/admin/queue/<?cs var:j.Id ?>/requeue" class="inline"><input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>"><button type="submit" class="small">Requeue</button></form>
        <?cs /if ?></td>
    </tr>
    <?cs set:last = j.Id ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Queue.Count == 100 ?><p><a href="/admin/queue?status=<?cs var:url_escape(Queue.Filter.Status) ?>&amp;user=<?cs var:url_escape(Queue.Filter.User) ?>&amp;anomaly=<?cs var:url_escape(Queue.Filter.Anomaly) ?>&amp;before=<?cs var:last ?>">Older jobs</a></p><?cs /if ?>
</section>
