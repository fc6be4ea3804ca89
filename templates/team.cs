<?cs # team.cs - one team: its members (managed by owners), its jobs. ?>
<section class="team">
  <h1><?cs var:Team.Info.0.Name ?></h1>
  <p><?cs var:_("Your role:") ?> <strong><?cs var:_(Team.Role) ?></strong> · <?cs var:_("Credits:") ?> <?cs var:Team.Info.0.Credits ?> · <a href="/teams/<?cs var:Team.Info.0.Id ?>/gallery"><?cs var:_("Team gallery") ?></a> · <a href="/teams"><?cs var:_("All teams") ?></a></p>
  <?cs if:Team.Role != "viewer" ?>
  <form method="post" action="/teams/<?cs var:Team.Info.0.Id ?>/credits" class="inline" id="add-credits">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label><?cs var:_("Add credits from your own") ?> <input name="amount" type="number" min="1" max="1000000000" step="1" required value="<?cs var:Form.Amount ?>"></label>
    <button type="submit" class="small"><?cs var:_("Add") ?></button>
    <?cs if:Form.Errors.amount ?><p class="field-error"><?cs var:Form.Errors.amount ?></p><?cs /if ?>
  </form>
  <?cs /if ?>
  <h2><?cs var:_("Members") ?></h2>
  <table class="list" id="members">
    <thead><tr><th><?cs var:_("User") ?></th><th><?cs var:_("Role") ?></th><th><?cs var:_("Added") ?> (<?cs var:TimeZone ?>)</th><th></th></tr></thead>
    <tbody>
    <?cs each:m = Team.Members ?>
    <tr>
      <td><?cs var:m.Name ?></td>
      <td><?cs if:Team.Role == "owner" ?><form method="post" action="/teams/<?cs var:Team.Info.0.Id ?>/members/<?cs var:m.Id ?>/role" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <select name="role" aria-label="<?cs var:_("Role") ?>"><option value="owner"<?cs if:m.Role == "owner" ?> selected<?cs /if ?>><?cs var:_("owner") ?></option><option value="member"<?cs if:m.Role == "member" ?> selected<?cs /if ?>><?cs var:_("member") ?></option><option value="viewer"<?cs if:m.Role == "viewer" ?> selected<?cs /if ?>><?cs var:_("viewer") ?></option></select>
          <button type="submit" class="small"><?cs var:_("Change") ?></button>
        </form><?cs else ?><?cs var:_(m.Role) ?><?cs /if ?></td>
      <td><?cs var:localtime(m.Added) ?></td>
      <td><?cs if:m.Id == Team.Me ?><?cs call:confirm("/teams/" + Team.Info.0.Id + "/members/" + m.Id + "/remove", _("Leave"), _("Leave this team? You keep the jobs you made for it; you no longer see the others'."), _("Yes, leave"), "small") ?><?cs elif:Team.Role == "owner" ?><?cs call:confirm("/teams/" + Team.Info.0.Id + "/members/" + m.Id + "/remove", _("Remove"), _("Remove") + " " + m.Name + _("? They keep the jobs they made for the team."), _("Yes, remove"), "small") ?><?cs /if ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Team.Role == "owner" ?>
  <h2><?cs var:_("Invite") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nobody was added; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/teams/<?cs var:Team.Info.0.Id ?>/members" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="username"><?cs var:_("User name") ?></label>
    <input id="username" name="username" maxlength="64" required value="<?cs var:Form.Username ?>">
    <?cs if:Form.Errors.username ?><p class="field-error"><?cs var:Form.Errors.username ?></p><?cs /if ?>
    <label for="role"><?cs var:_("Role") ?></label>
    <select id="role" name="role"><option value="member" selected><?cs var:_("member") ?></option><option value="viewer"><?cs var:_("viewer") ?></option><option value="owner"><?cs var:_("owner") ?></option></select>
    <?cs if:Form.Errors.role ?><p class="field-error"><?cs var:Form.Errors.role ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Add to the team") ?></button>
  </form>
  <?cs /if ?>
  <?cs if:Team.Role == "owner" ?>
  <h2><?cs var:_("Settings") ?></h2>
  <form method="post" action="/teams/<?cs var:Team.Info.0.Id ?>/settings" class="stacked" id="team-settings">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="team-name"><?cs var:_("Name") ?></label>
    <input id="team-name" name="name" maxlength="100" required value="<?cs if:Form.Name ?><?cs var:Form.Name ?><?cs else ?><?cs var:Team.Info.0.Name ?><?cs /if ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <label for="max-queued"><?cs var:_("Team jobs queued or running at once (blank: no team limit; each maker's own limits still apply)") ?></label>
    <input id="max-queued" name="max_queued" type="number" min="1" max="100000" step="1" value="<?cs if:Form.Errors.max_queued ?><?cs var:Form.MaxQueued ?><?cs else ?><?cs var:Team.Info.0.MaxQueued ?><?cs /if ?>">
    <?cs if:Form.Errors.max_queued ?><p class="field-error"><?cs var:Form.Errors.max_queued ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <h2><?cs var:_("Delete the team") ?></h2>
  <p class="muted"><?cs var:_("Jobs made for the team stay with the members who made them; credits left in its pool are added to yours. A team with jobs queued or running cannot be deleted.") ?></p>
  <?cs call:confirm("/teams/" + Team.Info.0.Id + "/delete", _("Delete team"), _("Delete this team for all its members? This cannot be undone."), _("Yes, delete the team"), "danger") ?>
  <?cs /if ?>
  <h2><?cs var:_("Recent jobs") ?></h2>
  <?cs if:subcount(Team.Jobs) == 0 ?>
  <p class="muted"><?cs var:_("No jobs for this team yet.") ?></p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Job") ?></th><th><?cs var:_("Prompt") ?></th><th><?cs var:_("Made by") ?></th><th><?cs var:_("Status") ?></th><th><?cs var:_("Created") ?></th></tr></thead>
    <tbody>
    <?cs each:j = Team.Jobs ?>
    <tr><td><a href="/jobs/<?cs var:j.Id ?>">#<?cs var:j.Id ?></a></td><td><?cs var:j.Prompt ?></td><td><?cs var:j.Maker ?></td><td><?cs var:_(j.Status) ?></td><td><?cs var:localtime(j.Created) ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
