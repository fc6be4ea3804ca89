<?cs # account_data.cs - your data: exports of everything kiln holds about the account, and deleting it. ?>
<section class="account">
  <p><a href="/account">&larr; <?cs var:_("Account") ?></a></p>
  <h1><?cs var:_("Your data") ?></h1>
  <?cs if:Data.Done ?><p class="notice ok" role="status"><?cs var:Data.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>

  <h2><?cs var:_("Export") ?></h2>
  <p><?cs var:_("One ZIP file with everything this site holds about you: your profile, settings and credits, every job with its parameters, your images and the images you uploaded, your API keys and sessions (never their secrets), your webhook settings and deliveries, the audit entries by or about you, and whether two-factor login is on. A manifest lists each file with its SHA-256. It is made in the background; once ready it can be downloaded once, within 24 hours.") ?></p>
  <form method="post" action="/account/data/export" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit"><?cs var:_("Export my data") ?></button>
  </form>
  <?cs if:subcount(Data.Exports) > 0 ?>
  <table class="list" id="exports">
    <thead><tr><th><?cs var:_("Asked") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Of") ?></th><th><?cs var:_("State") ?></th><th><?cs var:_("Size") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:e = Data.Exports ?>
    <tr data-export="<?cs var:e.Id ?>"><td><?cs var:localtime(e.Created) ?></td><td><?cs var:e.Username ?></td>
      <td class="export-status"><?cs var:e.Status ?><?cs if:e.Error ?>: <?cs var:e.Error ?><?cs /if ?></td>
      <td><?cs if:e.Bytes ?><?cs var:e.Bytes ?> <?cs var:_("bytes,") ?> <?cs var:e.Files ?> <?cs var:_("files") ?><?cs /if ?></td>
      <td><?cs if:e.Downloadable == "1" ?><a href="/account/data/export/<?cs var:e.Id ?>" download><?cs var:_("Download") ?></a> (<?cs var:_("once; until") ?> <?cs var:localtime(e.Expires) ?>)<?cs elif:e.Status == "queued" || e.Status == "running" ?><a href="/account/data"><?cs var:_("Refresh") ?></a><?cs /if ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>

  <h2><?cs var:_("Delete your account") ?></h2>
  <p><?cs var:_("This deletes your account for good: your jobs, images and uploads, API keys, sessions, webhooks, two-factor login and exports. Jobs still waiting or running are canceled first. The audit log keeps its entries about you with your name replaced by a pseudonym. There is no undo: export your data first if you want to keep it.") ?></p>
  <form method="post" action="/account/data/delete" class="stacked" id="delete-account">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="password"><?cs var:_("Password") ?></label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <?cs if:Data.TwoFactor == "1" ?>
    <label for="code"><?cs var:_("Code from your app, or a recovery code") ?></label>
    <input id="code" name="code" autocomplete="one-time-code" required maxlength="64">
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <?cs /if ?>
    <label for="confirm"><?cs var:_("Type your user name to confirm:") ?> <strong><?cs var:User.Username ?></strong></label>
    <input id="confirm" name="confirm" autocomplete="off" required maxlength="128">
    <?cs if:Form.Errors.confirm ?><p class="field-error"><?cs var:Form.Errors.confirm ?></p><?cs /if ?>
    <button type="submit" class="danger"><?cs var:_("Delete my account") ?></button>
  </form>
</section>
