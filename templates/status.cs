<?cs # status.cs - the public status page (page_status.c): Status.* is the
document /api/v1/status serves. Daemons are a count only. Times are UTC
ISO in the data; *_at_local is the same for localtime(). ?>
<?cs def:state_name(s) ?><?cs if:s == "operational" ?><?cs var:_("Operational") ?><?cs elif:s == "degraded" ?><?cs var:_("Degraded") ?><?cs elif:s == "outage" ?><?cs var:_("Outage") ?><?cs elif:s == "maintenance" ?><?cs var:_("Maintenance") ?><?cs /if ?><?cs /def ?>
<?cs def:severity_name(s) ?><?cs if:s == "minor" ?><?cs var:_("Minor") ?><?cs elif:s == "major" ?><?cs var:_("Major") ?><?cs elif:s == "critical" ?><?cs var:_("Critical") ?><?cs /if ?><?cs /def ?>
<?cs def:update_name(s) ?><?cs if:s == "investigating" ?><?cs var:_("Investigating") ?><?cs elif:s == "identified" ?><?cs var:_("Identified") ?><?cs elif:s == "monitoring" ?><?cs var:_("Monitoring") ?><?cs elif:s == "resolved" ?><?cs var:_("Resolved") ?><?cs /if ?><?cs /def ?>
<?cs def:component_name(c) ?><?cs if:c == "web" ?><?cs var:_("Web portal and API") ?><?cs elif:c == "queue" ?><?cs var:_("Queue") ?><?cs else ?><?cs var:c ?><?cs /if ?><?cs /def ?>
<?cs def:incident(i) ?>
  <article class="incident <?cs var:i.severity ?>" id="incident-<?cs var:i.id ?>">
    <h3><span class="incident-title"><?cs var:i.title ?></span> <span class="muted">(<?cs call:severity_name(i.severity) ?>, <?cs call:update_name(i.status) ?>)</span></h3>
    <p class="muted"><?cs var:_("Affected:") ?> <?cs each:c = i.components ?><?cs call:component_name(c) ?><?cs if:!last(c) ?>, <?cs /if ?><?cs /each ?> · <?cs var:_("Opened") ?> <?cs var:localtime(i.created_at_local) ?><?cs if:i.resolved_at ?> · <?cs var:_("Resolved") ?> <?cs var:localtime(i.resolved_at_local) ?><?cs /if ?></p>
    <ol class="updates">
    <?cs each:u = i.updates ?>
      <li><strong><?cs call:update_name(u.status) ?></strong> <span class="muted"><?cs var:localtime(u.created_at_local) ?></span><br><span class="prompt"><?cs var:u.message ?></span></li>
    <?cs /each ?>
    </ol>
  </article>
<?cs /def ?>
<section class="status-page">
  <h1><?cs var:_("Service status") ?></h1>
  <p class="status-overall <?cs var:Status.state ?>" id="status-overall" data-state="<?cs var:Status.state ?>"><?cs call:state_name(Status.state) ?></p>
  <p><?cs var:subst1(_("Render daemons online: {n}"), Status.daemons.online) ?> · <?cs var:subst1(_("Jobs waiting: {n}"), Status.queue.queued) ?> · <?cs var:subst1(_("Jobs rendering: {n}"), Status.queue.running) ?> · <a href="/status/feed.atom"><?cs var:_("Incidents feed (Atom)") ?></a> · <a href="/api/v1/status"><?cs var:_("As JSON") ?></a></p>

  <h2><?cs var:_("Current incidents") ?></h2>
  <div id="incidents-current">
  <?cs if:subcount(Status.incidents.current) == 0 ?><p class="muted"><?cs var:_("No open incidents.") ?></p><?cs /if ?>
  <?cs each:i = Status.incidents.current ?><?cs call:incident(i) ?><?cs /each ?>
  </div>

  <h2><?cs var:_("Queue wait and render time") ?></h2>
  <?cs if:subcount(Status.models) == 0 ?><p class="muted"><?cs var:_("No jobs finished in the last day.") ?></p><?cs else ?>
  <table class="list status-models" id="status-models">
    <thead><tr><th><?cs var:_("Model") ?></th><th><?cs var:_("Period") ?></th><th><?cs var:_("Jobs") ?></th><th><?cs var:_("Queue wait p50") ?></th><th><?cs var:_("Queue wait p95") ?></th><th><?cs var:_("Render time p50") ?></th><th><?cs var:_("Render time p95") ?></th></tr></thead>
    <tbody>
    <?cs each:m = Status.models ?>
    <?cs if:m.hour.jobs ?><tr data-model="<?cs var:m.model ?>" data-span="hour"><td><?cs var:m.model ?></td><td><?cs var:_("Last hour") ?></td><td class="n"><?cs var:m.hour.jobs ?></td><td class="w50"><?cs var:m.hour.queue_wait_s.p50 ?> s</td><td class="w95"><?cs var:m.hour.queue_wait_s.p95 ?> s</td><td class="r50"><?cs var:m.hour.render_s.p50 ?> s</td><td class="r95"><?cs var:m.hour.render_s.p95 ?> s</td></tr><?cs /if ?>
    <?cs if:m.day.jobs ?><tr data-model="<?cs var:m.model ?>" data-span="day"><td><?cs var:m.model ?></td><td><?cs var:_("Last day") ?></td><td class="n"><?cs var:m.day.jobs ?></td><td class="w50"><?cs var:m.day.queue_wait_s.p50 ?> s</td><td class="w95"><?cs var:m.day.queue_wait_s.p95 ?> s</td><td class="r50"><?cs var:m.day.render_s.p50 ?> s</td><td class="r95"><?cs var:m.day.render_s.p95 ?> s</td></tr><?cs /if ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2><?cs var:_("The last 90 days") ?></h2>
  <?cs each:c = Status.components ?>
  <div class="component" data-component="<?cs var:c.name ?>" data-state="<?cs var:c.state ?>">
    <h3><?cs call:component_name(c.name) ?> <span class="muted"><?cs call:state_name(c.state) ?></span></h3>
    <div class="history" role="img" aria-label="<?cs var:_("Daily status, oldest first") ?>"><?cs each:d = c.history ?><span class="day <?cs var:d.state ?>" title="<?cs var:d.date ?>"></span><?cs /each ?></div>
  </div>
  <?cs /each ?>

  <h2><?cs var:_("Upcoming maintenance") ?></h2>
  <div id="maintenance">
  <?cs if:subcount(Status.maintenance) == 0 ?><p class="muted"><?cs var:_("None scheduled.") ?></p><?cs /if ?>
  <?cs each:m = Status.maintenance ?>
  <article class="maintenance" id="maintenance-<?cs var:m.id ?>">
    <h3><?cs var:m.title ?><?cs if:m.active == "true" ?> <span class="muted">(<?cs var:_("in progress") ?>)</span><?cs /if ?></h3>
    <p class="muted"><?cs var:localtime(m.starts_at_local) ?> – <?cs var:localtime(m.ends_at_local) ?> · <?cs if:m.mode == "hold" ?><?cs var:_("New jobs are queued and wait until it ends.") ?><?cs else ?><?cs var:_("New jobs are refused until it ends.") ?><?cs /if ?></p>
    <?cs if:m.message ?><p class="prompt"><?cs var:m.message ?></p><?cs /if ?>
  </article>
  <?cs /each ?>
  </div>

  <h2><?cs var:_("Past incidents") ?></h2>
  <div id="incidents-past">
  <?cs if:subcount(Status.incidents.past) == 0 ?><p class="muted"><?cs var:_("No incidents in the last 90 days.") ?></p><?cs /if ?>
  <?cs each:i = Status.incidents.past ?><?cs call:incident(i) ?><?cs /each ?>
  </div>
</section>
