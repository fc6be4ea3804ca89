<?cs # login_2fa.cs - the second step of a login: the code from the app, or a recovery code. ?>
<section class="form-page">
  <h1>Two-factor login</h1>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:Form.Error ?></p><?cs /if ?>
  <p class="muted">Your password was right. Type the six-digit code your authenticator app shows for this site, or one of your recovery codes. This step ends after <?cs var:Form.Minutes ?> minutes.</p>
  <form method="post" action="/login/2fa" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="code">Code</label>
    <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="64" autofocus>
    <?cs if:Form.Errors.code ?><p class="field-error"><?cs var:Form.Errors.code ?></p><?cs /if ?>
    <label><input type="checkbox" name="remember" value="1"> Remember this device for <?cs var:Form.Days ?> days</label>
    <button type="submit">Log in</button>
  </form>
  <p class="muted"><a href="/login">Start over</a></p>
</section>
