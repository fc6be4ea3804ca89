<?cs # login.cs - the login form. ?>
<section class="form-page">
  <h1><?cs var:_("Log in") ?></h1>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:Form.Error ?></p><?cs /if ?>
  <form method="post" action="/login" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <input type="hidden" name="next" value="<?cs var:Form.Next ?>">
    <label for="username"><?cs var:_("User name") ?></label>
    <input id="username" name="username" autocomplete="username" required maxlength="64" value="<?cs var:Form.Username ?>">
    <?cs if:Form.Errors.username ?><p class="field-error"><?cs var:Form.Errors.username ?></p><?cs /if ?>
    <label for="password"><?cs var:_("Password") ?></label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Log in") ?></button>
  </form>
  <p class="muted"><a href="/password/reset" id="forgot"><?cs var:_("Forgot password?") ?></a></p>
  <p class="muted"><?cs var:_("No account?") ?> <a href="/register"><?cs var:_("Register") ?></a> <?cs var:_("(if this site allows it).") ?></p>
</section>
