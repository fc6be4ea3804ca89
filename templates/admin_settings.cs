<?cs # admin_settings.cs - site settings: registration and invitations. ?>
<section class="admin">
  <h1><?cs var:_("Settings") ?></h1>
  <?cs if:Settings.Done ?><p class="notice ok" role="status"><?cs var:Settings.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <h2><?cs var:_("Registration") ?></h2>
  <form method="post" action="/admin/settings" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs set:mode = Settings.0.Registration ?>
    <label><input type="radio" name="registration" value="open"<?cs if:mode == "open" ?> checked<?cs /if ?>> open: <?cs var:_("anyone can register") ?></label>
    <label><input type="radio" name="registration" value="invite"<?cs if:mode == "invite" ?> checked<?cs /if ?>> invite: <?cs var:_("only with an invite code") ?></label>
    <label><input type="radio" name="registration" value="closed"<?cs if:mode != "open" && mode != "invite" ?> checked<?cs /if ?>> closed: <?cs var:_("administrators make accounts") ?></label>
    <?cs if:Form.Errors.registration ?><p class="field-error"><?cs var:Form.Errors.registration ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <h2><?cs var:_("Two-factor login") ?></h2>
  <form method="post" action="/admin/settings/two-factor" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label><input type="checkbox" name="require_admins" value="1"<?cs if:TwoFactor.0.RequireAdmins == "1" ?> checked<?cs /if ?>> <?cs var:_("require two-factor login for administrators (one without it is sent to its set-up after login)") ?></label>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <h2><?cs var:_("Invitations") ?></h2>
  <?cs if:NewInvite ?>
  <div class="notice ok new-secret" role="status">
    <p><?cs var:_("New invite code, good for one account for this many days:") ?> <?cs var:NewInviteDays ?>. <?cs var:_("It is shown only once.") ?></p>
    <p><code id="new-invite"><?cs var:NewInvite ?></code> <button type="button" class="copy small" data-copy="new-invite" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
  </div>
  <?cs /if ?>
  <form method="post" action="/admin/invites" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="note"><?cs var:_("Note (who it is for)") ?></label>
    <input id="note" name="note" maxlength="128">
    <?cs if:Form.Errors.note ?><p class="field-error"><?cs var:Form.Errors.note ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Make an invite code") ?></button>
  </form>
  <table class="list">
    <thead><tr><th><?cs var:_("Note") ?></th><th><?cs var:_("Made by") ?></th><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Expires") ?></th><th><?cs var:_("Used by") ?></th></tr></thead>
    <tbody>
    <?cs each:i = Invites ?>
    <tr><td><?cs var:i.Note ?></td><td><?cs var:i.CreatedBy ?></td><td><?cs var:localtime(i.Created) ?></td><td><?cs var:localtime(i.Expires) ?></td><td><?cs var:i.UsedBy ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
</section>
