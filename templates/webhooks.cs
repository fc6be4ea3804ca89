<?cs # webhooks.cs - the user's webhook URL, signing secret, deliveries. ?>
<section class="webhooks">
  <h1>Webhooks</h1>
  <p class="muted">When a job starts, succeeds, fails or is canceled, kiln POSTs a JSON event to the job's <code>webhook_url</code>, or else to the URL below. Each request is signed the <a href="https://www.standardwebhooks.com/">Standard Webhooks</a> way: headers <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> (<code>v1,</code> + base64 HMAC-SHA256 of <code>id.timestamp.body</code> with the secret). A failed delivery is retried with growing delays.</p>
  <?cs if:Hooks.Done ?><p class="notice ok" role="status"><?cs var:Hooks.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>
  <form method="post" action="/account/webhooks" class="stacked wide">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="webhook_url">Default webhook URL <span class="muted">(empty: none)</span></label>
    <input id="webhook_url" name="webhook_url" type="url" maxlength="2048" value="<?cs if:Form.webhook_url ?><?cs var:Form.webhook_url ?><?cs else ?><?cs var:Hooks.0.Url ?><?cs /if ?>">
    <?cs if:Form.Errors.webhook_url ?><p class="field-error"><?cs var:Form.Errors.webhook_url ?></p><?cs /if ?>
    <button type="submit">Save</button>
  </form>
  <h2>Signing secret</h2>
  <p><code id="webhook-secret"><?cs var:Hooks.Secret ?></code></p>
  <?cs call:confirm("/account/webhooks/rotate", "Replace the secret", "Replace the signing secret? Receivers checking the old one will refuse new deliveries.", "Yes, replace it", "") ?>
  <h2>Latest deliveries</h2>
  <?cs if:subcount(Hooks.Deliveries) == 0 ?><p class="muted">None yet.</p><?cs else ?>
  <table class="list">
    <thead><tr><th>Created (UTC)</th><th>Job</th><th>Event</th><th>URL</th><th>Outcome</th><th>Tries</th><th>Last answer</th></tr></thead>
    <tbody>
    <?cs each:d = Hooks.Deliveries ?>
    <tr id="delivery-<?cs var:d.Id ?>"><td><?cs var:d.Created ?></td><td><a href="/jobs/<?cs var:d.Job ?>"><?cs var:d.Job ?></a></td><td><?cs var:d.Event ?></td>
      <td class="agent"><?cs var:d.Url ?></td>
      <td><span class="status status-<?cs if:d.Status == "delivered" ?>succeeded<?cs elif:d.Status == "failed" ?>failed<?cs else ?>running<?cs /if ?>"><?cs var:d.Status ?></span><?cs if:d.Delivered ?> <?cs var:d.Delivered ?><?cs /if ?></td>
      <td><?cs var:d.Attempts ?></td>
      <td><?cs if:d.LastStatus ?>HTTP <?cs var:d.LastStatus ?><?cs /if ?> <?cs var:d.LastError ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
