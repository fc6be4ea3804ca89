<?cs # admin_users.cs - the administrators' list of accounts. ?>
<section class="admin">
  <h1><?cs var:_("Users") ?></h1>
  <form method="get" action="/admin/users" class="search">
    <label for="q"><?cs var:_("Find") ?></label>
    <input id="q" name="q" value="<?cs var:Users.Q ?>" placeholder="<?cs var:_("user or display name") ?>">
    <button type="submit"><?cs var:_("Search") ?></button>
  </form>
  <p class="muted"><?cs var:_("Accounts shown:") ?> <?cs var:Users.Count ?><?cs if:Users.Count == 200 ?>; <?cs var:_("narrow the search to see others") ?><?cs /if ?>.</p>
  <table class="list">
    <thead><tr><th><?cs var:_("User") ?></th><th><?cs var:_("Display name") ?></th><th><?cs var:_("Role") ?></th><th><?cs var:_("Tier") ?></th><th><?cs var:_("Status") ?></th><th><?cs var:_("Created") ?></th><th><?cs var:_("Last login") ?> (<?cs var:TimeZone ?>)</th></tr></thead>
    <tbody>
    <?cs each:u = Users.List ?>
    <tr<?cs if:u.Disabled == "1" ?> class="disabled"<?cs /if ?>>
      <td><a href="/admin/users/<?cs var:u.Id ?>"><?cs var:u.Username ?></a></td>
      <td><?cs var:u.DisplayName ?></td><td><?cs var:u.Role ?></td><td><?cs var:u.Tier ?></td>
      <td><?cs if:u.Disabled == "1" ?><?cs var:_("disabled") ?><?cs else ?><?cs var:_("active") ?><?cs /if ?></td>
      <td><?cs var:localtime(u.Created) ?></td><td><?cs var:localtime(u.LastLogin) ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
