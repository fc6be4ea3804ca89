<?cs # login_2fa.cs - the second step of a login: the code from the app, or a recovery code. ?>
<section class="form-page">
  <h1><?cs var:_("Two-factor login") ?></h1>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:Form.Error ?></p><?cs /if ?>
  <p class="muted"><?cs var:_("Your password was right. Type the six-digit code your authenticator app shows for this site, or one of your recovery codes.") ?> <?cs var:_("Minutes left for this step:") ?> <?cs var:Form.Minutes ?>.</p>
  <form method="post" action="/login/2fa" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="code"><?cs var:_("Code") ?></label>
    <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="64" autofocus>
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <label><input type="checkbox" name="remember" value="1"> <?cs var:_("Remember this device for this many days:") ?> <?cs var:Form.Days ?></label>
    <button type="submit"><?cs var:_("Log in") ?></button>
  </form>
  <p class="muted"><a href="/login"><?cs var:_("Start over") ?></a></p>
</section>
