<?cs # password_new.cs - the page an e-mailed reset link opens: a new password, or why the link no longer works. ?>
<section class="form-page">
  <h1><?cs var:_("New password") ?></h1>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:Form.Error ?></p><?cs /if ?>
  <?cs if:Reset.State == "invalid" ?>
  <p class="notice error" role="alert" id="reset-invalid"><?cs var:_("This link does not work (any more): it was used, it expired, or the password was changed since it was sent.") ?></p>
  <p><a href="/password/reset"><?cs var:_("Ask for a new link") ?></a></p>
  <?cs else ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Please correct the fields marked below.") ?></p><?cs /if ?>
  <p><?cs var:_("Choose the new password of your account. Every session of the account will be ended; with two-factor login on, logging in still asks for a code.") ?></p>
  <form method="post" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="password"><?cs var:_("New password") ?> <span class="muted"><?cs var:_("(at least 10 characters)") ?></span></label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="password2"><?cs var:_("New password again") ?></label>
    <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password2 ?><p class="field-error"><?cs var:Form.Errors.password2 ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Set the new password") ?></button>
  </form>
  <?cs /if ?>
</section>
