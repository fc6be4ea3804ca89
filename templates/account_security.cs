<?cs # account_security.cs - the signed-in user's two-factor login, recovery codes and remembered devices. ?>
<section class="account">
  <p><a href="/account">&larr; <?cs var:_("Account") ?></a></p>
  <h1><?cs var:_("Security") ?></h1>
  <?cs if:Security.Required ?><p class="notice error" role="alert"><?cs var:_("This site requires administrators to use two-factor login. Turn it on to reach the other pages.") ?></p><?cs /if ?>
  <?cs if:Security.Done ?><p class="notice ok" role="status"><?cs var:Security.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>

  <h2><?cs var:_("Two-factor login") ?></h2>
  <?cs if:Security.Enabled == "1" ?>
  <p id="twofa-state"><?cs var:_("Two-factor login is") ?> <strong><?cs var:_("on") ?></strong><?cs var:_(": after your password, a code from your authenticator app (or a recovery code) is asked for.") ?> <?cs var:Security.Recovery.0.Remaining ?> <?cs var:_("recovery codes left.") ?></p>
  <?cs if:subcount(RecoveryCodes) > 0 ?>
  <div class="notice ok new-secret" role="status">
    <p><?cs var:_("Your recovery codes. Each works once, in place of an app code. Copy them now: they will not be shown again.") ?> <button type="button" class="copy small" data-copy="recovery-codes" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
    <ul id="recovery-codes"><?cs each:c = RecoveryCodes ?><li><code><?cs var:c ?></code></li><?cs /each ?></ul>
  </div>
  <?cs /if ?>
  <h3><?cs var:_("New recovery codes") ?></h3>
  <form method="post" action="/account/security/recovery" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="recovery-code"><?cs var:_("Code from your app") ?></label>
    <input id="recovery-code" name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="64">
    <button type="submit"><?cs var:_("Make new recovery codes") ?></button>
  </form>
  <h3><?cs var:_("Turn it off") ?></h3>
  <form method="post" action="/account/security/disable" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="password"><?cs var:_("Password") ?></label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="disable-code"><?cs var:_("Code from your app, or a recovery code") ?></label>
    <input id="disable-code" name="code" autocomplete="one-time-code" required maxlength="64">
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <button type="submit" class="danger"><?cs var:_("Turn two-factor login off") ?></button>
  </form>
  <?cs elif:Security.Pending == "1" ?>
  <p id="twofa-state"><?cs var:_("Two-factor login is") ?> <strong><?cs var:_("being set up") ?></strong>. <?cs var:_("Scan this code with an authenticator app (any that speaks TOTP: Aegis, FreeOTP, Google Authenticator, 1Password...), then type the code it shows.") ?></p>
  <p><img id="twofa-qr" src="/account/security/qr.png" alt="<?cs var:_("QR code of the key for your authenticator app") ?>" width="222" height="222"></p>
  <p><?cs var:_("Or type the key by hand:") ?> <code id="twofa-secret"><?cs var:Security.Secret ?></code> <button type="button" class="copy small" data-copy="twofa-secret" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button> <?cs var:_("(time-based, SHA-1, 6 digits, 30 seconds), or give a desktop app the whole key URI:") ?> <code id="twofa-uri"><?cs var:Security.Uri ?></code></p>
  <form method="post" action="/account/security/enable" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="code"><?cs var:_("Code from your app") ?></label>
    <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="64">
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Turn two-factor login on") ?></button>
  </form>
  <form method="post" action="/account/security/setup" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit" class="small"><?cs var:_("Start again with a new key") ?></button>
  </form>
  <?cs else ?>
  <p id="twofa-state"><?cs var:_("Two-factor login is") ?> <strong><?cs var:_("off") ?></strong>. <?cs var:_("With it on, a login needs your password and a code from an authenticator app on your phone. API keys are not affected: a script's key is its own credential.") ?></p>
  <form method="post" action="/account/security/setup" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit"><?cs var:_("Set up two-factor login") ?></button>
  </form>
  <?cs /if ?>

  <h2><?cs var:_("Remembered devices") ?></h2>
  <?cs if:subcount(Security.Devices) == 0 ?><p class="muted"><?cs var:_("None: every login asks for a code.") ?></p><?cs else ?>
  <table class="list">
    <thead><tr><th><?cs var:_("Remembered") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Last used") ?></th><th><?cs var:_("Until") ?></th><th><?cs var:_("Address") ?></th><th><?cs var:_("Browser") ?></th></tr></thead>
    <tbody>
    <?cs each:d = Security.Devices ?>
    <tr><td><?cs var:localtime(d.Created) ?></td><td><?cs var:localtime(d.LastUsed) ?></td><td><?cs var:localtime(d.Expires) ?></td><td><?cs var:d.Ip ?></td><td class="agent"><?cs var:d.Agent ?></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs call:confirm("/account/security/devices/forget", _("Forget all devices"), _("Forget every remembered device? Each will ask for a code at its next login."), _("Yes, forget them"), "") ?>
  <?cs /if ?>
</section>
