<?cs # admin_user.cs - one account, as an administrator sees and changes it. ?>
<section class="admin">
  <?cs with:u = User.0 ?>
  <p><a href="/admin/users">&larr; Users</a></p>
  <h1><?cs var:u.Username ?><?cs if:u.Disabled == "1" ?> <span class="badge">disabled</span><?cs /if ?></h1>
  <p class="muted"><?cs var:u.DisplayName ?> · created <?cs var:u.Created ?> UTC<?cs if:u.LastLogin ?> · last login <?cs var:u.LastLogin ?><?cs /if ?><?cs if:u.PasswordChanged ?> · password set <?cs var:u.PasswordChanged ?><?cs /if ?></p>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>
  <?cs if:NewPassword ?>
  <div class="notice ok new-secret" role="status">
    <p>The new password for <?cs var:u.Username ?> (shown once; their sessions were ended):</p>
    <p><code id="new-password"><?cs var:NewPassword ?></code></p>
  </div>
  <?cs /if ?>

  <h2>Status</h2>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/status" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs if:u.Disabled == "1" ?>
    <input type="hidden" name="disabled" value="0"><button type="submit">Enable account</button>
    <?cs else ?>
    <input type="hidden" name="disabled" value="1"><button type="submit" class="danger">Disable account</button>
    <?cs /if ?>
  </form>
  <?cs if:Form.Errors.disabled ?><p class="field-error"><?cs var:Form.Errors.disabled ?></p><?cs /if ?>

  <h2>Role and tier</h2>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/role" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="role">Role</label>
    <select id="role" name="role">
      <option value="user"<?cs if:u.Role == "user" ?> selected<?cs /if ?>>user</option>
      <option value="admin"<?cs if:u.Role == "admin" ?> selected<?cs /if ?>>admin</option>
    </select>
    <?cs if:Form.Errors.role ?><p class="field-error"><?cs var:Form.Errors.role ?></p><?cs /if ?>
    <label for="tier">Tier</label>
    <input id="tier" name="tier" maxlength="32" value="<?cs var:u.Tier ?>">
    <?cs if:Form.Errors.tier ?><p class="field-error"><?cs var:Form.Errors.tier ?></p><?cs /if ?>
    <button type="submit">Save</button>
  </form>

  <h2>Credits</h2>
  <p>Balance: <strong id="credits"><?cs var:u.Credits ?></strong> credits. A job costs one credit per 512&times;512 pixel-step of work (a 512&times;512 image of 20 steps: 20), at least 1.</p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/credits" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="amount">Grant (negative: take away)</label>
    <input id="amount" name="amount" type="number" step="1" required>
    <?cs if:Form.Errors.amount ?><p class="field-error"><?cs var:Form.Errors.amount ?></p><?cs /if ?>
    <label for="note">Note</label>
    <input id="note" name="note" maxlength="200">
    <?cs if:Form.Errors.note ?><p class="field-error"><?cs var:Form.Errors.note ?></p><?cs /if ?>
    <button type="submit">Grant</button>
  </form>

  <h2>Password</h2>
  <?cs call:confirm("/admin/users/" + u.Id + "/password", "Reset to a new random password", "Replace " + u.Username + "'s password and end their sessions?", "Yes, reset it", "") ?>

  <h2>Two-factor login</h2>
  <p id="twofa-state">Two-factor login is <strong><?cs if:u.TwoFactor == "1" ?>on<?cs else ?>off<?cs /if ?></strong>.</p>
  <?cs call:confirm("/admin/users/" + u.Id + "/two-factor/reset", "Reset two-factor login", "Turn off " + u.Username + "'s two-factor login and remove their recovery codes and remembered devices? They can set it up again after logging in with their password.", "Yes, reset it", "") ?>

  <h2>Sessions</h2>
  <?cs if:subcount(Sessions) == 0 ?><p class="muted">None.</p><?cs else ?>
  <table class="list">
    <thead><tr><th>Started (UTC)</th><th>Last seen</th><th>Address</th><th>Browser</th><th></th></tr></thead>
    <tbody>
    <?cs each:s = Sessions ?>
    <tr><td><?cs var:s.Created ?></td><td><?cs var:s.LastSeen ?></td><td><?cs var:s.Ip ?></td><td class="agent"><?cs var:s.Agent ?></td>
      <td><?cs call:confirm("/admin/users/" + u.Id + "/sessions/" + s.Id + "/revoke", "End", "End this session?", "Yes, end it", "small") ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2>API keys</h2>
  <?cs if:subcount(Keys) == 0 ?><p class="muted">None.</p><?cs else ?>
  <table class="list">
    <thead><tr><th>Name</th><th>Key</th><th>Scopes</th><th>Created</th><th>Last used</th><th></th></tr></thead>
    <tbody>
    <?cs each:k = Keys ?>
    <tr<?cs if:k.Revoked ?> class="revoked"<?cs /if ?>><td><?cs var:k.Name ?></td><td><code><?cs var:k.Prefix ?>…</code></td><td><?cs var:k.Scopes ?></td>
      <td><?cs var:k.Created ?></td><td><?cs if:k.LastUsed ?><?cs var:k.LastUsed ?><?cs else ?>never<?cs /if ?></td>
      <td><?cs if:k.Revoked ?>revoked <?cs var:k.Revoked ?><?cs else ?><?cs call:confirm("/admin/users/" + u.Id + "/keys/" + k.Id + "/revoke", "Revoke", "Revoke key " + k.Name + "? Scripts using it stop working.", "Yes, revoke", "small") ?><?cs /if ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2 id="exports">Data export</h2>
  <p>A ZIP of everything kiln holds about <?cs var:u.Username ?>, made in the background, downloadable once by you (audited).</p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/export" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit">Export this user's data</button>
  </form>
  <?cs if:subcount(Exports) > 0 ?>
  <ul id="export-list"><?cs each:e = Exports ?><li><?cs var:e.Created ?> UTC: <?cs var:e.Status ?><?cs if:e.Error ?> (<?cs var:e.Error ?>)<?cs /if ?><?cs if:e.Downloadable == "1" ?> · <a href="/account/data/export/<?cs var:e.Id ?>" download>Download</a> (once; until <?cs var:e.Expires ?> UTC)<?cs /if ?></li><?cs /each ?></ul>
  <?cs /if ?>

  <h2>Delete</h2>
  <p><a href="/admin/users/<?cs var:u.Id ?>/delete" class="button danger">Delete this account…</a></p>

  <h2>Recent activity</h2>
  <table class="list">
    <thead><tr><th>Time (UTC)</th><th>Actor</th><th>Address</th><th>Action</th><th>Detail</th></tr></thead>
    <tbody>
    <?cs each:a = Audit ?>
    <tr><td><?cs var:a.At ?></td><td><?cs var:a.Actor ?></td><td><?cs var:a.Ip ?></td><td><?cs var:a.Action ?></td><td><?cs var:a.Detail ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /with ?>
</section>
