<?cs # teams.cs - the user's teams, and making one. ?>
<section class="teams">
  <h1><?cs var:_("Teams") ?></h1>
  <p class="muted"><?cs var:_("A team shares a credit pool, its jobs and their images. Owners manage the members; members make jobs for the team; viewers see them.") ?></p>
  <?cs if:subcount(Teams.List) == 0 ?>
  <p class="muted"><?cs var:_("You are in no team.") ?></p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Team") ?></th><th><?cs var:_("Your role") ?></th><th><?cs var:_("Members") ?></th><th><?cs var:_("Credits") ?></th></tr></thead>
    <tbody>
    <?cs each:t = Teams.List ?>
    <tr><td><a href="/teams/<?cs var:t.Id ?>"><?cs var:t.Name ?></a></td><td><?cs var:_(t.Role) ?></td><td><?cs var:t.Members ?></td><td><?cs var:t.Credits ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <h2><?cs var:_("New team") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No team was made; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/teams" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="name"><?cs var:_("Name") ?></label>
    <input id="name" name="name" maxlength="100" required value="<?cs var:Form.Name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Create team") ?></button>
  </form>
</section>
