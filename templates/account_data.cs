<?cs # account_data.cs - your data: exports of everything kiln holds about the account, and deleting it. ?>
<section class="account">
  <p><a href="/account">&larr; Account</a></p>
  <h1>Your data</h1>
  <?cs if:Data.Done ?><p class="notice ok" role="status"><?cs var:Data.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>

  <h2>Export</h2>
  <p>One ZIP file with everything this site holds about you: your profile, settings and credits, every job with its parameters, your images and the images you uploaded, your API keys and sessions (never their secrets), your webhook settings and deliveries, the audit entries by or about you, and whether two-factor login is on. A <code>manifest.json</code> lists each file with its SHA-256. It is made in the background; once ready it can be downloaded <strong>once</strong>, within 24 hours.</p>
  <form method="post" action="/account/data/export" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit">Export my data</button>
  </form>
  <?cs if:subcount(Data.Exports) > 0 ?>
  <table class="list" id="exports">
    <thead><tr><th>Asked (UTC)</th><th>Of</th><th>State</th><th>Size</th><th></th></tr></thead>
    <tbody>
    <?cs each:e = Data.Exports ?>
    <tr data-export="<?cs var:e.Id ?>"><td><?cs var:e.Created ?></td><td><?cs var:e.Username ?></td>
      <td class="export-status"><?cs var:e.Status ?><?cs if:e.Error ?>: <?cs var:e.Error ?><?cs /if ?></td>
      <td><?cs if:e.Bytes ?><?cs var:e.Bytes ?> bytes, <?cs var:e.Files ?> files<?cs /if ?></td>
      <td><?cs if:e.Downloadable == "1" ?><a href="/account/data/export/<?cs var:e.Id ?>" download>Download</a> (once; until <?cs var:e.Expires ?> UTC)<?cs elif:e.Status == "queued" || e.Status == "running" ?><a href="/account/data">Refresh</a><?cs /if ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2>Delete your account</h2>
  <p>This deletes your account for good: your jobs, images and uploads, API keys, sessions, webhooks, two-factor login and exports. Jobs still waiting or running are canceled first. The audit log keeps its entries about you with your name replaced by a pseudonym. There is no undo: export your data first if you want to keep it.</p>
  <form method="post" action="/account/data/delete" class="stacked" id="delete-account">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <?cs if:Data.TwoFactor == "1" ?>
    <label for="code">Code from your app, or a recovery code</label>
    <input id="code" name="code" autocomplete="one-time-code" required maxlength="64">
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <?cs /if ?>
    <label for="confirm">Type your user name, <strong><?cs var:User.Username ?></strong>, to confirm</label>
    <input id="confirm" name="confirm" autocomplete="off" required maxlength="128">
    <?cs if:Form.Errors.confirm ?><p class="field-error"><?cs var:Form.Errors.confirm ?></p><?cs /if ?>
    <button type="submit" class="danger">Delete my account</button>
  </form>
</section>
