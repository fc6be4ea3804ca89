<?cs # account_email.cs - the account page's e-mail address section, included by account.cs. ?>
  <h2><?cs var:_("E-mail address") ?></h2>
  <?cs if:Email.Done ?><p class="notice ok" role="status"><?cs var:Email.Done ?></p><?cs /if ?>
  <?cs with:e = Email.Current.0 ?>
  <?cs if:e.Address ?>
  <p id="email-state"><?cs var:e.Address ?>: <?cs if:e.Verified == "1" ?><strong class="ok"><?cs var:_("verified") ?></strong> (<?cs var:localtime(e.VerifiedAt) ?> <?cs var:TimeZone ?>). <?cs var:_("Password-reset links and security notices go to it.") ?><?cs else ?><strong><?cs var:_("unverified") ?></strong><?cs var:_(": open the link mailed to it. Until then it receives nothing else.") ?><?cs /if ?></p>
  <?cs else ?>
  <p id="email-state" class="muted"><?cs var:_("No address: a forgotten password cannot be reset by mail, and no security notices are sent.") ?></p>
  <?cs /if ?>
  <?cs if:Email.Enabled == "1" ?>
  <form method="post" action="/account/email" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="email"><?cs var:_("New address") ?> <span class="muted"><?cs var:_("(a link to confirm it is mailed to it; leave empty to remove the address)") ?></span></label>
    <input id="email" name="email" type="email" autocomplete="email" maxlength="254" value="<?cs var:Form.Email ?>">
    <?cs if:Form.Errors.email ?><p class="field-error"><?cs var:Form.Errors.email ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save the address") ?></button>
  </form>
  <?cs else ?>
  <p class="muted"><?cs var:_("This site sends no e-mail.") ?></p>
  <?cs /if ?>
  <?cs /with ?>
