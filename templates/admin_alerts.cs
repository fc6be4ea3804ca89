<?cs # admin_alerts.cs - the alert rules with their state and a form each,
where the notices go, and the recent incidents (page_admin_alerts.c). ?>
<?cs def:rule_title(n) ?><?cs if:n == "anomalies" ?><?cs var:_("Anomalous renders") ?><?cs elif:n == "queue_depth" ?><?cs var:_("Queue depth") ?><?cs elif:n == "oldest_wait" ?><?cs var:_("Oldest queued wait") ?><?cs elif:n == "daemon_offline" ?><?cs var:_("Render daemons offline") ?><?cs elif:n == "failure_rate" ?><?cs var:_("Failure rate") ?><?cs elif:n == "disk_free" ?><?cs var:_("Free space of the artifacts directory") ?><?cs else ?><?cs var:n ?><?cs /if ?><?cs /def ?>
<?cs def:rule_help(n) ?><?cs if:n == "anomalies" ?><?cs var:_("Renders slower than mean + 3 sd of their model and size, ended within the window; fires above the threshold.") ?><?cs elif:n == "queue_depth" ?><?cs var:_("Jobs queued; fires above the threshold.") ?><?cs elif:n == "oldest_wait" ?><?cs var:_("Seconds the oldest queued job has waited; fires above the threshold.") ?><?cs elif:n == "daemon_offline" ?><?cs var:_("Daemons not stopped whose heartbeat is older than the window; fires above the threshold.") ?><?cs elif:n == "failure_rate" ?><?cs var:_("Share of the jobs ended within the window that failed (0 to 1; 5 jobs at least); fires above the threshold.") ?><?cs elif:n == "disk_free" ?><?cs var:_("Percent of the artifacts file system free; fires below the threshold.") ?><?cs /if ?><?cs /def ?>
<?cs def:state_name(s) ?><?cs if:s == "ok" ?><?cs var:_("OK") ?><?cs elif:s == "pending" ?><?cs var:_("Pending") ?><?cs elif:s == "firing" ?><?cs var:_("Firing") ?><?cs elif:s == "resolved" ?><?cs var:_("Resolved") ?><?cs /if ?><?cs /def ?>
<section class="admin">
  <h1><?cs var:_("Alerts") ?></h1>
  <p class="muted"><?cs var:_("kilnd evaluates these rules; each incident is told once when it fires and once when it resolves.") ?></p>
  <ul id="alerts-delivery">
    <li><?cs var:_("Evaluated every (seconds)") ?>: <?cs var:Alerts.Interval ?></li>
    <li><?cs var:_("Webhook") ?>: <?cs if:Alerts.Webhook ?><code><?cs var:Alerts.Webhook ?></code><?cs else ?><?cs var:_("none ([alerts] webhook_url in kiln.conf)") ?><?cs /if ?></li>
    <li><?cs var:_("E-mail") ?>: <?cs if:Alerts.Mail == "0" ?><?cs var:_("off ([mail] enabled in kiln.conf)") ?><?cs elif:Alerts.Emails ?><?cs var:Alerts.Emails ?><?cs else ?><?cs var:_("administrators with a verified address") ?><?cs /if ?></li>
  </ul>
  <h2><?cs var:_("Rules") ?></h2>
  <?cs each:r = Alerts.Rules ?>
  <article class="alert-rule <?cs var:r.State ?>" id="rule-<?cs var:r.Name ?>">
    <h3><?cs call:rule_title(r.Name) ?> <span class="muted">(<?cs call:state_name(r.State) ?><?cs if:r.Value != "" ?>; <?cs var:_("value") ?> <?cs var:r.Value ?><?cs /if ?>)</span></h3>
    <p class="muted"><?cs call:rule_help(r.Name) ?><?cs if:r.State == "firing" ?> <?cs var:_("Firing since") ?> <?cs var:localtime(r.Fired) ?>.<?cs /if ?></p>
    <form method="post" action="/admin/alerts" class="stack">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <input type="hidden" name="rule" value="<?cs var:r.Name ?>">
      <label><input type="checkbox" name="enabled" value="1"<?cs if:r.Enabled == "1" ?> checked<?cs /if ?>> <?cs var:_("Enabled") ?></label>
      <label for="threshold-<?cs var:r.Name ?>"><?cs var:_("Threshold") ?></label>
      <input id="threshold-<?cs var:r.Name ?>" name="threshold" value="<?cs var:r.Threshold ?>" inputmode="decimal" required>
      <label for="window-<?cs var:r.Name ?>"><?cs var:_("Window (seconds)") ?></label>
      <input id="window-<?cs var:r.Name ?>" name="window_s" value="<?cs var:r.Window ?>" inputmode="numeric" required>
      <label for="duration-<?cs var:r.Name ?>"><?cs var:_("For at least (seconds)") ?></label>
      <input id="duration-<?cs var:r.Name ?>" name="duration_s" value="<?cs var:r.Duration ?>" inputmode="numeric" required>
      <button type="submit"><?cs var:_("Save") ?></button>
    </form>
  </article>
  <?cs /each ?>
  <h2><?cs var:_("Recent notices") ?></h2>
  <?cs if:subcount(Alerts.Events) == 0 ?><p class="muted" id="alerts-none"><?cs var:_("None.") ?></p><?cs else ?>
  <table class="list" id="alerts-events">
    <thead><tr><th><?cs var:_("Rule") ?></th><th><?cs var:_("Incident") ?></th><th><?cs var:_("State") ?></th><th><?cs var:_("Value") ?></th><th><?cs var:_("Threshold") ?></th><th><?cs var:_("When") ?></th></tr></thead>
    <tbody>
    <?cs each:e = Alerts.Events ?>
    <tr><td><?cs call:rule_title(e.Rule) ?></td><td><?cs var:e.Incident ?></td><td><?cs call:state_name(e.Kind) ?></td><td><?cs var:e.Value ?></td><td><?cs var:e.Threshold ?></td><td><?cs var:localtime(e.At) ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
