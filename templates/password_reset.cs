<?cs # password_reset.cs - a forgotten password: ask for a user name or address, then the same answer whoever it names. ?>
<section class="form-page">
  <h1><?cs var:_("Forgot password") ?></h1>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:Form.Error ?></p><?cs /if ?>
  <?cs if:Reset.State == "sent" ?>
  <p class="notice ok" role="status" id="reset-sent"><?cs var:_("If an account with a verified e-mail address matches, a link to choose a new password is on its way to that address. It works once.") ?> <?cs var:_("Minutes it works for:") ?> <?cs var:Reset.Minutes ?>.</p>
  <p class="muted"><?cs var:_("Nothing arrived? Check the spam folder, or ask an administrator: only a verified address can receive the link.") ?></p>
  <?cs elif:Reset.Mail == "0" ?>
  <p class="notice"><?cs var:_("This site sends no e-mail. Ask an administrator to set a new password for you.") ?></p>
  <?cs else ?>
  <p><?cs var:_("Give your user name or the verified e-mail address of your account; a link to choose a new password will be mailed to that address.") ?></p>
  <form method="post" action="/password/reset" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="who"><?cs var:_("User name or e-mail address") ?></label>
    <input id="who" name="who" autocomplete="username" required maxlength="254">
    <?cs if:Form.Errors.who ?><p class="field-error"><?cs var:Form.Errors.who ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Send the link") ?></button>
  </form>
  <?cs /if ?>
  <p class="muted"><a href="/login"><?cs var:_("Back to the login") ?></a></p>
</section>
