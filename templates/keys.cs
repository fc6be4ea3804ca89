<?cs # keys.cs - the user's API keys. ?>
<section class="keys">
  <h1><?cs var:_("API keys") ?></h1>
  <p class="muted"><?cs var:_("Scripts send a key as") ?> <code>Authorization: Bearer kiln_…</code> <?cs var:_("to the API under") ?> <code>/api/v1/…</code>. <?cs var:_("Only its SHA-256 digest is stored: a key is shown once, when it is made.") ?></p>
  <?cs if:Keys.Error ?><p class="notice error" role="alert"><?cs var:Keys.Error ?></p><?cs /if ?>
  <?cs if:Keys.Done ?><p class="notice ok" role="status"><?cs var:Keys.Done ?></p><?cs /if ?>
  <?cs if:Keys.New ?>
  <div class="notice ok new-secret" role="status">
    <p><?cs var:_("Your new key") ?> <strong><?cs var:Keys.NewName ?></strong><?cs var:_(". Copy it now: it will not be shown again.") ?></p>
    <p><code id="new-key"><?cs var:Keys.New ?></code> <button type="button" class="copy small" data-copy="new-key" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
    <?cs if:Keys.Rotated ?><p id="rotated"><?cs if:Keys.OldUntil ?><?cs var:_("The old secret keeps working until") ?> <?cs var:localtime(Keys.OldUntil) ?> <?cs var:TimeZone ?>.<?cs else ?><?cs var:_("The old secret stopped working at once.") ?><?cs /if ?></p><?cs /if ?>
  </div>
  <?cs /if ?>
  <h2><?cs var:_("New key") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No key was made; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/account/keys" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="name"><?cs var:_("Name") ?></label>
    <input id="name" name="name" maxlength="64" required value="<?cs var:Form.Name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <fieldset>
      <legend><?cs var:_("Scopes") ?></legend>
      <label><input type="checkbox" name="scope" value="read" checked> read: <?cs var:_("see your account, jobs and images") ?></label>
      <label><input type="checkbox" name="scope" value="generate"> generate: <?cs var:_("submit and cancel jobs") ?></label>
      <?cs if:User.IsAdmin ?><label><input type="checkbox" name="scope" value="admin"> admin: <?cs var:_("administer users and the site") ?></label><?cs /if ?>
    </fieldset>
    <?cs if:Form.Errors.scope ?><p class="field-error"><?cs var:Form.Errors.scope ?></p><?cs /if ?>
    <label for="expires"><?cs var:_("Expires (optional, UTC)") ?></label>
    <input id="expires" name="expires" type="date" value="<?cs var:Form.Expires ?>">
    <?cs if:Form.Errors.expires ?><p class="field-error"><?cs var:Form.Errors.expires ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Create key") ?></button>
  </form>
  <h2><?cs var:_("Your keys") ?></h2>
  <?cs if:subcount(Keys.List) == 0 ?>
  <p class="muted"><?cs var:_("You have no API keys.") ?></p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Name") ?></th><th><?cs var:_("Key") ?></th><th><?cs var:_("Scopes") ?></th><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Last used") ?></th><th><?cs var:_("Expires") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:k = Keys.List ?>
    <tr<?cs if:k.Revoked ?> class="revoked"<?cs /if ?>>
      <td><?cs var:k.Name ?></td><td><code><?cs var:k.Prefix ?>…</code></td><td><?cs var:k.Scopes ?></td>
      <td><?cs var:localtime(k.Created) ?></td>
      <td><?cs if:k.LastUsed ?><?cs var:localtime(k.LastUsed) ?> <?cs var:_("from") ?> <?cs var:k.LastIp ?><?cs else ?><?cs var:_("never") ?><?cs /if ?></td>
      <td><?cs if:k.Expired == 1 ?><?cs var:_("expired") ?> <?cs var:localtime(k.Expires) ?><?cs elif:k.Expires ?><?cs var:localtime(k.Expires) ?><?cs else ?><?cs var:_("never") ?><?cs /if ?>
        <?cs if:k.OldUntil && !k.Revoked ?><br><small class="old-secret"><?cs var:_("old secret works until") ?> <?cs var:localtime(k.OldUntil) ?>, <?cs var:_("last used") ?> <?cs if:k.OldUsed ?><?cs var:localtime(k.OldUsed) ?><?cs else ?><?cs var:_("never") ?><?cs /if ?></small><?cs /if ?></td>
      <td><?cs if:k.Revoked ?><?cs var:_("revoked") ?> <?cs var:localtime(k.Revoked) ?><?cs else ?>
        <?cs if:k.Expired != 1 ?><form method="post" action="/account/keys/<?cs var:k.Id ?>/rotate" class="inline rotate">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <label><?cs var:_("Old secret works for") ?> <select name="grace"><option value="0"><?cs var:_("no longer") ?></option><option value="3600"><?cs var:_("1 hour") ?></option><option value="86400" selected><?cs var:_("1 day") ?></option><option value="604800"><?cs var:_("7 days") ?></option><option value="2592000"><?cs var:_("30 days") ?></option></select></label>
          <button type="submit" class="small"><?cs var:_("Rotate") ?></button>
        </form><?cs /if ?>
        <?cs call:confirm("/account/keys/" + k.Id + "/revoke", _("Revoke"), _("Revoke key") + " " + k.Name + _("? Scripts using it stop working."), _("Yes, revoke"), "small") ?><?cs /if ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
