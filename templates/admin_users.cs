<?cs # admin_users.cs - the administrators' list of accounts. ?>
<section class="admin">
  <h1>Users</h1>
  <form method="get" action="/admin/users" class="search">
    <label for="q">Find</label>
    <input id="q" name="q" value="<?cs var:Users.Q ?>" placeholder="user or display name">
    <button type="submit">Search</button>
  </form>
  <p class="muted"><?cs var:Users.Count ?> account(s)<?cs if:Users.Count == 200 ?> shown; narrow the search to see others<?cs /if ?>.</p>
  <table class="list">
    <thead><tr><th>User</th><th>Display name</th><th>Role</th><th>Tier</th><th>Status</th><th>Created</th><th>Last login (UTC)</th></tr></thead>
    <tbody>
    <?cs each:u = Users.List ?>
    <tr<?cs if:u.Disabled == "1" ?> class="disabled"<?cs /if ?>>
      <td><a href="/admin/users/<?cs var:u.Id ?>"><?cs var:u.Username ?></a></td>
      <td><?cs var:u.DisplayName ?></td><td><?cs var:u.Role ?></td><td><?cs var:u.Tier ?></td>
      <td><?cs if:u.Disabled == "1" ?>disabled<?cs else ?>active<?cs /if ?></td>
      <td><?cs var:u.Created ?></td><td><?cs var:u.LastLogin ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
