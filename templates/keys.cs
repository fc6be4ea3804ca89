<?cs # keys.cs - the user's API keys. ?>
<section class="keys">
  <h1>API keys</h1>
  <p class="muted">Scripts send a key as <code>Authorization: Bearer kiln_…</code> to <code>/api/v1/…</code>. Only its SHA-256 digest is stored: a key is shown once, when it is made.</p>
  <?cs if:Keys.Error ?><p class="notice error" role="alert"><?cs var:Keys.Error ?></p><?cs /if ?>
  <?cs if:Keys.Done ?><p class="notice ok" role="status"><?cs var:Keys.Done ?></p><?cs /if ?>
  <?cs if:Keys.New ?>
  <div class="notice ok new-secret" role="status">
    <p>Your new key <strong><?cs var:Keys.NewName ?></strong>. Copy it now: it will not be shown again.</p>
    <p><code id="new-key"><?cs var:Keys.New ?></code></p>
    <?cs if:Keys.Rotated ?><p id="rotated"><?cs if:Keys.OldUntil ?>The old secret keeps working until <?cs var:Keys.OldUntil ?>.<?cs else ?>The old secret stopped working at once.<?cs /if ?></p><?cs /if ?>
  </div>
  <?cs /if ?>
  <h2>New key</h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">No key was made; see the field marked below.</p><?cs /if ?>
  <form method="post" action="/account/keys" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="name">Name</label>
    <input id="name" name="name" maxlength="64" required value="<?cs var:Form.Name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <fieldset>
      <legend>Scopes</legend>
      <label><input type="checkbox" name="scope" value="read" checked> read: see your account, jobs and images</label>
      <label><input type="checkbox" name="scope" value="generate"> generate: submit and cancel jobs</label>
      <?cs if:User.IsAdmin ?><label><input type="checkbox" name="scope" value="admin"> admin: administer users and the site</label><?cs /if ?>
    </fieldset>
    <?cs if:Form.Errors.scope ?><p class="field-error"><?cs var:Form.Errors.scope ?></p><?cs /if ?>
    <label for="expires">Expires (optional, UTC)</label>
    <input id="expires" name="expires" type="date" value="<?cs var:Form.Expires ?>">
    <?cs if:Form.Errors.expires ?><p class="field-error"><?cs var:Form.Errors.expires ?></p><?cs /if ?>
    <button type="submit">Create key</button>
  </form>
  <h2>Your keys</h2>
  <?cs if:subcount(Keys.List) == 0 ?>
  <p class="muted">You have no API keys.</p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th>Name</th><th>Key</th><th>Scopes</th><th>Created (UTC)</th><th>Last used</th><th>Expires (UTC)</th><th></th></tr></thead>
    <tbody>
    <?cs each:k = Keys.List ?>
    <tr<?cs if:k.Revoked ?> class="revoked"<?cs /if ?>>
      <td><?cs var:k.Name ?></td><td><code><?cs var:k.Prefix ?>…</code></td><td><?cs var:k.Scopes ?></td>
      <td><?cs var:k.Created ?></td>
      <td><?cs if:k.LastUsed ?><?cs var:k.LastUsed ?> from <?cs var:k.LastIp ?><?cs else ?>never<?cs /if ?></td>
      <td><?cs if:k.Expired == 1 ?>expired <?cs var:k.Expires ?><?cs elif:k.Expires ?><?cs var:k.Expires ?><?cs else ?>never<?cs /if ?>
        <?cs if:k.OldUntil && !k.Revoked ?><br><small class="old-secret">old secret works until <?cs var:k.OldUntil ?>, last used <?cs if:k.OldUsed ?><?cs var:k.OldUsed ?><?cs else ?>never<?cs /if ?></small><?cs /if ?></td>
      <td><?cs if:k.Revoked ?>revoked <?cs var:k.Revoked ?><?cs else ?>
        <?cs if:k.Expired != 1 ?><form method="post" action="/account/keys/<?cs var:k.Id ?>/rotate" class="inline rotate">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <label>Old secret works for <select name="grace"><option value="0">no longer</option><option value="3600">1 hour</option><option value="86400" selected>1 day</option><option value="604800">7 days</option><option value="2592000">30 days</option></select></label>
          <button type="submit" class="small">Rotate</button>
        </form><?cs /if ?>
        <?cs call:confirm("/account/keys/" + k.Id + "/revoke", "Revoke", "Revoke key " + k.Name + "? Scripts using it stop working.", "Yes, revoke", "small") ?><?cs /if ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
