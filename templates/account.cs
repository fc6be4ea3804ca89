<?cs # account.cs - the signed-in user's own settings and sessions. ?>
<section class="account">
  <h1>Account: <?cs var:User.Username ?></h1>
  <?cs if:Account.Done ?><p class="notice ok" role="status"><?cs var:Account.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>
  <?cs with:p = Account.Profile.0 ?>
  <p class="muted">Role <strong><?cs var:p.Role ?></strong>, tier <strong><?cs var:p.Tier ?></strong>, <strong id="credits"><?cs var:p.Credits ?></strong> credits; member since <?cs var:p.Created ?> UTC<?cs if:p.LastLogin ?>, last login <?cs var:p.LastLogin ?> UTC<?cs /if ?>. <a href="/account/keys">API keys</a> · <a href="/account/webhooks">Webhooks</a> · <a href="/account/data">Your data</a></p>

  <h2>Profile</h2>
  <form method="post" action="/account/profile" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="display_name">Display name</label>
    <input id="display_name" name="display_name" maxlength="128" value="<?cs var:p.DisplayName ?>">
    <?cs if:Form.Errors.display_name ?><p class="field-error"><?cs var:Form.Errors.display_name ?></p><?cs /if ?>
    <button type="submit">Save</button>
  </form>
  <?cs /with ?>

  <h2>Password</h2>
  <form method="post" action="/account/password" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="current">Current password</label>
    <input id="current" name="current" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.current ?><p class="field-error"><?cs var:Form.Errors.current ?></p><?cs /if ?>
    <label for="password">New password <span class="muted">(at least 10 characters)</span></label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="password2">New password again</label>
    <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password2 ?><p class="field-error"><?cs var:Form.Errors.password2 ?></p><?cs /if ?>
    <button type="submit">Change password</button>
  </form>

  <h2>Two-factor login</h2>
  <p><a href="/account/security">Security</a>: two-factor login, recovery codes and remembered devices.</p>

  <h2>Sessions</h2>
  <table class="list">
    <thead><tr><th>Started (UTC)</th><th>Last seen</th><th>Address</th><th>Browser</th><th></th></tr></thead>
    <tbody>
    <?cs each:s = Account.Sessions ?>
    <tr>
      <td><?cs var:s.Created ?></td><td><?cs var:s.LastSeen ?></td><td><?cs var:s.Ip ?></td>
      <td class="agent"><?cs var:s.Agent ?></td>
      <td><?cs if:s.Current == "1" ?><em>this one</em><?cs /if ?>
        <?cs call:confirm("/account/sessions/" + s.Id + "/revoke", "End", "End this session? That browser will be logged out.", "Yes, end it", "small") ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs call:confirm("/account/sessions/revoke-all", "Log out everywhere", "End every session, this one too?", "Yes, log out everywhere", "") ?>
</section>
