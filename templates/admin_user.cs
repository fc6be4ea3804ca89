<?cs # admin_user.cs - one account, as an administrator sees and changes it. ?>
<section class="admin">
  <?cs with:u = User.0 ?>
  <p><a href="/admin/users">&larr; <?cs var:_("Users") ?></a></p>
  <h1><?cs var:u.Username ?><?cs if:u.Disabled == "1" ?> <span class="badge"><?cs var:_("disabled") ?></span><?cs /if ?></h1>
  <p class="muted"><?cs var:u.DisplayName ?> · <?cs var:_("created") ?> <?cs var:localtime(u.Created) ?><?cs if:u.LastLogin ?> · <?cs var:_("last login") ?> <?cs var:localtime(u.LastLogin) ?><?cs /if ?><?cs if:u.PasswordChanged ?> · <?cs var:_("password set") ?> <?cs var:localtime(u.PasswordChanged) ?><?cs /if ?> (<?cs var:TimeZone ?>)</p>
  <?cs if:Admin.Done ?><p class="notice ok" role="status"><?cs var:Admin.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <?cs if:NewPassword ?>
  <div class="notice ok new-secret" role="status">
    <p><?cs var:_("The new password for") ?> <?cs var:u.Username ?> <?cs var:_("(shown once; their sessions were ended):") ?></p>
    <p><code id="new-password"><?cs var:NewPassword ?></code> <button type="button" class="copy small" data-copy="new-password" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
  </div>
  <?cs /if ?>

  <h2><?cs var:_("Status") ?></h2>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/status" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs if:u.Disabled == "1" ?>
    <input type="hidden" name="disabled" value="0"><button type="submit"><?cs var:_("Enable account") ?></button>
    <?cs else ?>
    <input type="hidden" name="disabled" value="1"><button type="submit" class="danger"><?cs var:_("Disable account") ?></button>
    <?cs /if ?>
  </form>
  <?cs if:Form.Errors.disabled ?><p class="field-error"><?cs var:Form.Errors.disabled ?></p><?cs /if ?>

  <h2><?cs var:_("Role and tier") ?></h2>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/role" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="role"><?cs var:_("Role") ?></label>
    <select id="role" name="role">
      <option value="user"<?cs if:u.Role == "user" ?> selected<?cs /if ?>>user</option>
      <option value="moderator"<?cs if:u.Role == "moderator" ?> selected<?cs /if ?>>moderator</option>
      <option value="admin"<?cs if:u.Role == "admin" ?> selected<?cs /if ?>>admin</option>
    </select>
    <?cs if:Form.Errors.role ?><p class="field-error"><?cs var:Form.Errors.role ?></p><?cs /if ?>
    <label for="tier"><?cs var:_("Tier") ?></label>
    <input id="tier" name="tier" maxlength="32" value="<?cs var:u.Tier ?>">
    <?cs if:Form.Errors.tier ?><p class="field-error"><?cs var:Form.Errors.tier ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>

  <h2><?cs var:_("Credits") ?></h2>
  <p><?cs var:_("Balance:") ?> <strong id="credits"><?cs var:u.Credits ?></strong> <?cs var:_("credits.") ?> <?cs var:_("A job costs one credit per 512×512 pixel-step of work (a 512×512 image of 20 steps: 20), at least 1.") ?></p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/credits" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="amount"><?cs var:_("Grant (negative: take away)") ?></label>
    <input id="amount" name="amount" type="number" step="1" required>
    <?cs if:Form.Errors.amount ?><p class="field-error"><?cs var:Form.Errors.amount ?></p><?cs /if ?>
    <label for="note"><?cs var:_("Note") ?></label>
    <input id="note" name="note" maxlength="200">
    <?cs if:Form.Errors.note ?><p class="field-error"><?cs var:Form.Errors.note ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Grant") ?></button>
  </form>

  <h2><?cs var:_("Password") ?></h2>
  <?cs call:confirm("/admin/users/" + u.Id + "/password", _("Reset to a new random password"), _("Replace the password of") + " " + u.Username + _("? Their sessions are ended."), _("Yes, reset it"), "") ?>

  <h2><?cs var:_("Two-factor login") ?></h2>
  <p id="twofa-state"><?cs var:_("Two-factor login is") ?> <strong><?cs if:u.TwoFactor == "1" ?><?cs var:_("on") ?><?cs else ?><?cs var:_("off") ?><?cs /if ?></strong>.</p>
  <?cs call:confirm("/admin/users/" + u.Id + "/two-factor/reset", _("Reset two-factor login"), _("Turn off two-factor login for") + " " + u.Username + _("? Their recovery codes and remembered devices are removed; they can set it up again after logging in with their password."), _("Yes, reset it"), "") ?>

  <h2><?cs var:_("Sessions") ?></h2>
  <?cs if:subcount(Sessions) == 0 ?><p class="muted"><?cs var:_("None.") ?></p><?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Started") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Last seen") ?></th><th><?cs var:_("Address") ?></th><th><?cs var:_("Browser") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:s = Sessions ?>
    <tr><td><?cs var:localtime(s.Created) ?></td><td><?cs var:localtime(s.LastSeen) ?></td><td><?cs var:s.Ip ?></td><td class="agent"><?cs var:s.Agent ?></td>
      <td><?cs call:confirm("/admin/users/" + u.Id + "/sessions/" + s.Id + "/revoke", _("End"), _("End this session?"), _("Yes, end it"), "small") ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2><?cs var:_("API keys") ?></h2>
  <?cs if:subcount(Keys) == 0 ?><p class="muted"><?cs var:_("None.") ?></p><?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Name") ?></th><th><?cs var:_("Key") ?></th><th><?cs var:_("Scopes") ?></th><th><?cs var:_("Created") ?></th><th><?cs var:_("Last used") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:k = Keys ?>
    <tr<?cs if:k.Revoked ?> class="revoked"<?cs /if ?>><td><?cs var:k.Name ?></td><td><code><?cs var:k.Prefix ?>…</code></td><td><?cs var:k.Scopes ?></td>
      <td><?cs var:localtime(k.Created) ?></td><td><?cs if:k.LastUsed ?><?cs var:localtime(k.LastUsed) ?><?cs else ?><?cs var:_("never") ?><?cs /if ?></td>
      <td><?cs if:k.Revoked ?><?cs var:_("revoked") ?> <?cs var:localtime(k.Revoked) ?><?cs else ?><?cs call:confirm("/admin/users/" + u.Id + "/keys/" + k.Id + "/revoke", _("Revoke"), _("Revoke key") + " " + k.Name + _("? Scripts using it stop working."), _("Yes, revoke"), "small") ?><?cs /if ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2 id="exports"><?cs var:_("Data export") ?></h2>
  <p><?cs var:_("A ZIP of everything kiln holds about this user, made in the background, downloadable once by you (audited).") ?></p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/export" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit"><?cs var:_("Export this user's data") ?></button>
  </form>
  <?cs if:subcount(Exports) > 0 ?>
  <ul id="export-list"><?cs each:e = Exports ?><li><?cs var:localtime(e.Created) ?>: <?cs var:e.Status ?><?cs if:e.Error ?> (<?cs var:e.Error ?>)<?cs /if ?><?cs if:e.Downloadable == "1" ?> · <a href="/account/data/export/<?cs var:e.Id ?>" download><?cs var:_("Download") ?></a> (<?cs var:_("once; until") ?> <?cs var:localtime(e.Expires) ?>)<?cs /if ?></li><?cs /each ?></ul>
  <?cs /if ?>

  <h2><?cs var:_("Delete") ?></h2>
  <p><a href="/admin/users/<?cs var:u.Id ?>/delete" class="button danger"><?cs var:_("Delete this account…") ?></a></p>

  <h2><?cs var:_("Recent activity") ?></h2>
  <table class="list">
    <thead><tr><th><?cs var:_("Time") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Actor") ?></th><th><?cs var:_("Address") ?></th><th><?cs var:_("Action") ?></th><th><?cs var:_("Detail") ?></th></tr></thead>
    <tbody>
    <?cs each:a = Audit ?>
    <tr><td><?cs var:localtime(a.At) ?></td><td><?cs var:a.Actor ?></td><td><?cs var:a.Ip ?></td><td><?cs var:a.Action ?></td><td><?cs var:a.Detail ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /with ?>
</section>
