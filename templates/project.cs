<?cs # project.cs - one project: its jobs as a grid, its shots, and (by access) adding jobs, new shots, renaming, sharing, deleting. ?>
<?cs with:p = Project.Info.0 ?>
<section class="project">
  <h1><?cs var:p.Name ?></h1>
  <?cs if:p.Description ?><p class="description"><?cs var:p.Description ?></p><?cs /if ?>
  <p class="muted"><?cs if:p.TeamId ?><?cs var:_("Shared with the team") ?> <a href="/teams/<?cs var:p.TeamId ?>"><?cs var:p.TeamName ?></a><?cs else ?><?cs var:_("Only you see this project.") ?><?cs /if ?> · <?cs var:subst1(_("made by {n}"), p.Maker) ?> · <?cs var:_("Your access:") ?> <strong id="access"><?cs var:_(Project.Access) ?></strong> · <a href="/projects"><?cs var:_("All projects") ?></a></p>

  <h2><?cs var:_("Shots") ?></h2>
  <?cs if:subcount(Project.Shots) == 0 ?>
  <p class="muted"><?cs var:_("No shots yet.") ?></p>
  <?cs else ?>
  <table class="list" id="shots">
    <thead><tr><th><?cs var:_("Shot") ?></th><th><?cs var:_("Latest version") ?></th><th><?cs var:_("Render") ?></th><th><?cs var:_("Updated") ?> (<?cs var:TimeZone ?>)</th></tr></thead>
    <tbody>
    <?cs each:s = Project.Shots ?>
    <tr><td><a href="/projects/<?cs var:p.Id ?>/shots/<?cs var:s.Name ?>"><?cs var:s.Name ?></a></td><td><?cs var:subst1(_("v{n}"), s.Latest) ?></td><td><?cs if:s.JobId ?><a href="/jobs/<?cs var:s.JobId ?>">#<?cs var:s.JobId ?></a><?cs /if ?></td><td><?cs var:localtime(s.Updated) ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2><?cs var:_("Jobs") ?></h2>
  <?cs if:subcount(Project.Jobs) == 0 ?>
  <p class="muted"><?cs var:_("No jobs in this project yet.") ?></p>
  <?cs else ?>
  <ul class="grid" id="project-jobs">
    <?cs each:j = Project.Jobs ?>
    <li>
      <?cs if:j.Idx != "" ?><a href="/jobs/<?cs var:j.Id ?>"><img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:j.Idx ?>.thumb.png" alt="<?cs var:j.Prompt ?>" title="<?cs var:j.Prompt ?>" width="160" height="<?cs var:j.Height * 160 / j.Width ?>" loading="lazy"></a><?cs else ?><a href="/jobs/<?cs var:j.Id ?>">#<?cs var:j.Id ?></a> <?cs var:_(j.Status) ?><?cs /if ?>
      <span class="caption">#<?cs var:j.Id ?><?cs if:Project.Access != "read" ?> <form method="post" action="/projects/<?cs var:p.Id ?>/jobs/<?cs var:j.Id ?>/remove" class="inline"><input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>"><button type="submit" class="small secondary"><?cs var:_("Remove") ?></button></form><?cs /if ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
  <?cs if:Project.Hidden > 0 ?><p class="muted"><?cs var:subst1(_("{n} more jobs of this project are not shown: their makers' own jobs, which only they see."), Project.Hidden) ?></p><?cs /if ?>

  <?cs if:Project.Access != "read" ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <h2><?cs var:_("Add a job") ?></h2>
  <form method="post" action="/projects/<?cs var:p.Id ?>/jobs" class="inline" id="add-job">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label><?cs var:_("Job number") ?> <input name="job_id" type="number" min="1" step="1" required></label>
    <button type="submit" class="small"><?cs var:_("Add") ?></button>
    <?cs if:Form.Errors.job_id ?><p class="field-error"><?cs var:Form.Errors.job_id ?></p><?cs /if ?>
  </form>

  <h2><?cs var:_("New shot") ?></h2>
  <form method="post" action="/projects/<?cs var:p.Id ?>/shots" class="stacked" id="new-shot">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="shot"><?cs var:_("Shot name (a-z, 0-9, - and _)") ?></label>
    <input id="shot" name="shot" maxlength="64" required pattern="[a-z0-9][a-z0-9_\-]*" value="<?cs var:Form.Shot ?>">
    <?cs if:Form.Errors.shot ?><p class="field-error"><?cs var:Form.Errors.shot ?></p><?cs /if ?>
    <label for="manifest"><?cs var:_("Manifest (JSON)") ?></label>
    <textarea id="manifest" name="manifest" rows="8" class="mono" required><?cs var:Form.Manifest ?></textarea>
    <?cs if:Form.Errors.manifest ?><p class="field-error"><?cs var:Form.Errors.manifest ?></p><?cs /if ?>
    <label for="note"><?cs var:_("Note") ?></label>
    <input id="note" name="note" maxlength="500" value="<?cs var:Form.Note ?>">
    <button type="submit"><?cs var:_("Save version 1") ?></button>
  </form>

  <h2><?cs var:_("Rename") ?></h2>
  <form method="post" action="/projects/<?cs var:p.Id ?>/rename" class="stacked" id="rename">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="name"><?cs var:_("Name") ?></label>
    <input id="name" name="name" maxlength="100" required value="<?cs var:p.Name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <label for="description"><?cs var:_("Description") ?></label>
    <textarea id="description" name="description" maxlength="2000" rows="3"><?cs var:p.Description ?></textarea>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <?cs /if ?>

  <?cs if:Project.Access == "manage" ?>
  <h2><?cs var:_("Share") ?></h2>
  <form method="post" action="/projects/<?cs var:p.Id ?>/share" class="inline" id="share">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <select name="team_id" aria-label="<?cs var:_("Share with") ?>"><option value=""><?cs var:_("Nobody (only its maker)") ?></option><?cs each:t = Teams.Mine ?><option value="<?cs var:t.Id ?>"<?cs if:t.Id == p.TeamId ?> selected<?cs /if ?>><?cs var:t.Name ?></option><?cs /each ?></select>
    <button type="submit" class="small"><?cs var:_("Share") ?></button>
  </form>
  <h2><?cs var:_("Delete") ?></h2>
  <?cs call:confirm("/projects/" + p.Id + "/delete", _("Delete this project"), _("Delete this project, its shots and their versions? Its jobs and images stay."), _("Yes, delete"), "") ?>
  <?cs /if ?>
</section>
<?cs /with ?>
