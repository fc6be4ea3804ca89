<?cs # webhooks.cs - the user's webhook URL, signing secret, deliveries. ?>
<section class="webhooks">
  <h1><?cs var:_("Webhooks") ?></h1>
  <p class="muted"><?cs var:_("When a job starts, succeeds, fails or is canceled, kiln POSTs a JSON event to the job's") ?> <code>webhook_url</code><?cs var:_(", or else to the URL below. Each request is signed the") ?> <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> <?cs var:_("way: headers") ?> <code>webhook-id</code>, <code>webhook-timestamp</code> <?cs var:_("and") ?> <code>webhook-signature</code> (<code>v1,</code> + <?cs var:_("base64 HMAC-SHA256 of") ?> <code>id.timestamp.body</code> <?cs var:_("with the secret). A failed delivery is retried with growing delays.") ?></p>
  <?cs if:Hooks.Done ?><p class="notice ok" role="status"><?cs var:Hooks.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/account/webhooks" class="stacked wide">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="webhook_url"><?cs var:_("Default webhook URL") ?> <span class="muted"><?cs var:_("(empty: none)") ?></span></label>
    <input id="webhook_url" name="webhook_url" type="url" maxlength="2048" value="<?cs if:Form.webhook_url ?><?cs var:Form.webhook_url ?><?cs else ?><?cs var:Hooks.0.Url ?><?cs /if ?>">
    <?cs if:Form.Errors.webhook_url ?><p class="field-error"><?cs var:Form.Errors.webhook_url ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <h2><?cs var:_("Signing secret") ?></h2>
  <p><code id="webhook-secret"><?cs var:Hooks.Secret ?></code> <button type="button" class="copy small" data-copy="webhook-secret" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
  <?cs call:confirm("/account/webhooks/rotate", _("Replace the secret"), _("Replace the signing secret? Receivers checking the old one will refuse new deliveries."), _("Yes, replace it"), "") ?>
  <h2><?cs var:_("Latest deliveries") ?></h2>
  <?cs if:subcount(Hooks.Deliveries) == 0 ?><p class="muted"><?cs var:_("None yet.") ?></p><?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Job") ?></th><th><?cs var:_("Event") ?></th><th>URL</th><th><?cs var:_("Outcome") ?></th><th><?cs var:_("Tries") ?></th><th><?cs var:_("Last answer") ?></th></tr></thead>
    <tbody>
    <?cs each:d = Hooks.Deliveries ?>
    <tr id="delivery-<?cs var:d.Id ?>"><td><?cs var:localtime(d.Created) ?></td><td><a href="/jobs/<?cs var:d.Job ?>"><?cs var:d.Job ?></a></td><td><?cs var:d.Event ?></td>
      <td class="agent"><?cs var:d.Url ?></td>
      <td><span class="status status-<?cs if:d.Status == "delivered" ?>succeeded<?cs elif:d.Status == "failed" ?>failed<?cs else ?>running<?cs /if ?>"><?cs var:_(d.Status) ?></span><?cs if:d.Delivered ?> <?cs var:localtime(d.Delivered) ?><?cs /if ?></td>
      <td><?cs var:d.Attempts ?></td>
      <td><?cs if:d.LastStatus ?>HTTP <?cs var:d.LastStatus ?><?cs /if ?> <?cs var:d.LastError ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
