<?cs # admin_settings.cs - site settings: registration and invitations. ?>
<section class="admin">
  <h1>Settings</h1>
  <?cs if:Settings.Done ?><p class="notice ok" role="status"><?cs var:Settings.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>
  <h2>Registration</h2>
  <form method="post" action="/admin/settings" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs set:mode = Settings.0.Registration ?>
    <label><input type="radio" name="registration" value="open"<?cs if:mode == "open" ?> checked<?cs /if ?>> open: anyone can register</label>
    <label><input type="radio" name="registration" value="invite"<?cs if:mode == "invite" ?> checked<?cs /if ?>> invite: only with an invite code</label>
    <label><input type="radio" name="registration" value="closed"<?cs if:mode != "open" && mode != "invite" ?> checked<?cs /if ?>> closed: administrators make accounts</label>
    <?cs if:Form.Errors.registration ?><p class="field-error"><?cs var:Form.Errors.registration ?></p><?cs /if ?>
    <button type="submit">Save</button>
  </form>
  <h2>Two-factor login</h2>
  <form method="post" action="/admin/settings/two-factor" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label><input type="checkbox" name="require_admins" value="1"<?cs if:TwoFactor.0.RequireAdmins == "1" ?> checked<?cs /if ?>> require two-factor login for administrators (one without it is sent to its set-up after login)</label>
    <button type="submit">Save</button>
  </form>
  <h2>Invitations</h2>
  <?cs if:NewInvite ?>
  <div class="notice ok new-secret" role="status">
    <p>New invite code, good for one account for <?cs var:NewInviteDays ?> days (shown once):</p>
    <p><code id="new-invite"><?cs var:NewInvite ?></code></p>
  </div>
  <?cs /if ?>
  <form method="post" action="/admin/invites" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="note">Note (who it is for)</label>
    <input id="note" name="note" maxlength="128">
    <?cs if:Form.Errors.note ?><p class="field-error"><?cs var:Form.Errors.note ?></p><?cs /if ?>
    <button type="submit">Make an invite code</button>
  </form>
  <table class="list">
    <thead><tr><th>Note</th><th>Made by</th><th>Created (UTC)</th><th>Expires</th><th>Used by</th></tr></thead>
    <tbody>
    <?cs each:i = Invites ?>
    <tr><td><?cs var:i.Note ?></td><td><?cs var:i.CreatedBy ?></td><td><?cs var:i.Created ?></td><td><?cs var:i.Expires ?></td><td><?cs var:i.UsedBy ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
