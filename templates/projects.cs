<?cs # projects.cs - the user's projects (their own and their teams'), and making one. ?>
<section class="projects">
  <h1><?cs var:_("Projects") ?></h1>
  <p class="muted"><?cs var:_("A project collects jobs and shots. Each shot keeps every version of its manifest, so two versions can be compared field by field and their renders side by side. Share a project with a team: its owners and members work in it, its viewers look.") ?></p>
  <?cs if:subcount(Projects.List) == 0 ?>
  <p class="muted"><?cs var:_("No projects yet.") ?></p>
  <?cs else ?>
  <table class="list" id="projects">
    <thead><tr><th><?cs var:_("Project") ?></th><th><?cs var:_("Team") ?></th><th><?cs var:_("Jobs") ?></th><th><?cs var:_("Shots") ?></th><th><?cs var:_("Updated") ?> (<?cs var:TimeZone ?>)</th></tr></thead>
    <tbody>
    <?cs each:p = Projects.List ?>
    <tr><td><a href="/projects/<?cs var:p.Id ?>"><?cs var:p.Name ?></a></td><td><?cs var:p.Team ?></td><td><?cs var:p.Jobs ?></td><td><?cs var:p.Shots ?></td><td><?cs var:localtime(p.Updated) ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <h2><?cs var:_("New project") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No project was made; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/projects" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="name"><?cs var:_("Name") ?></label>
    <input id="name" name="name" maxlength="100" required value="<?cs var:Form.Name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <label for="description"><?cs var:_("Description") ?></label>
    <textarea id="description" name="description" maxlength="2000" rows="3"><?cs var:Form.Description ?></textarea>
    <?cs if:Form.Errors.description ?><p class="field-error"><?cs var:Form.Errors.description ?></p><?cs /if ?>
    <?cs if:subcount(Teams.Mine) > 0 ?>
    <label for="team_id"><?cs var:_("Share with") ?></label>
    <select id="team_id" name="team_id"><option value=""><?cs var:_("Nobody (only me)") ?></option><?cs each:t = Teams.Mine ?><option value="<?cs var:t.Id ?>"><?cs var:t.Name ?></option><?cs /each ?></select>
    <?cs if:Form.Errors.team_id ?><p class="field-error"><?cs var:Form.Errors.team_id ?></p><?cs /if ?>
    <?cs /if ?>
    <button type="submit"><?cs var:_("Create project") ?></button>
  </form>
</section>
