<?cs # email_verify.cs - what opening an e-mailed verification link did. ?>
<section class="form-page">
  <h1><?cs var:_("E-mail address") ?></h1>
  <?cs if:Verify.State == "verified" ?>
  <p class="notice ok" role="status" id="email-verified"><?cs var:_("The address") ?> <strong><?cs var:Verify.Email ?></strong> <?cs var:_("is verified: password-reset links and security notices will go to it.") ?></p>
  <?cs elif:Verify.State == "taken" ?>
  <p class="notice error" role="alert" id="email-taken"><?cs var:_("Another account already uses this address; it cannot be verified for this one too.") ?></p>
  <?cs else ?>
  <p class="notice error" role="alert" id="email-invalid"><?cs var:_("This link does not work (any more): it was used, it expired, or the account's address was changed since it was sent.") ?></p>
  <?cs /if ?>
  <p><a href="/account"><?cs var:_("Your account") ?></a></p>
</section>
