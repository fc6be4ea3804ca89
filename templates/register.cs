<?cs # register.cs - the registration form, or why there is none. ?>
<section class="form-page">
  <h1><?cs var:_("Register") ?></h1>
  <?cs if:Register.Mode == "closed" ?>
  <p class="notice"><?cs var:_("Registration is closed on this site. Ask an administrator for an account.") ?></p>
  <?cs else ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Please correct the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/register" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs # The browser's zone, filled in by account.js: the new account's. ?>
    <input type="hidden" name="time_zone" value="" class="browser-tz">
    <label for="username"><?cs var:_("User name") ?></label>
    <input id="username" name="username" autocomplete="username" required minlength="2" maxlength="64" pattern="[A-Za-z0-9._\-]+" value="<?cs var:Form.Username ?>">
    <?cs if:Form.Errors.username ?><p class="field-error"><?cs var:Form.Errors.username ?></p><?cs /if ?>
    <label for="display_name"><?cs var:_("Display name") ?> <span class="muted"><?cs var:_("(optional)") ?></span></label>
    <input id="display_name" name="display_name" maxlength="128" value="<?cs var:Form.DisplayName ?>">
    <?cs if:Form.Errors.display_name ?><p class="field-error"><?cs var:Form.Errors.display_name ?></p><?cs /if ?>
    <label for="password"><?cs var:_("Password") ?> <span class="muted"><?cs var:_("(at least 10 characters)") ?></span></label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="password2"><?cs var:_("Password again") ?></label>
    <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password2 ?><p class="field-error"><?cs var:Form.Errors.password2 ?></p><?cs /if ?>
    <?cs if:Register.Mode == "invite" ?>
    <label for="invite"><?cs var:_("Invite code") ?></label>
    <input id="invite" name="invite" required value="<?cs var:Form.Invite ?>">
    <?cs if:Form.Errors.invite ?><p class="field-error"><?cs var:Form.Errors.invite ?></p><?cs /if ?>
    <?cs /if ?>
    <button type="submit"><?cs var:_("Create account") ?></button>
  </form>
  <?cs /if ?>
  <p class="muted"><?cs var:_("Have an account?") ?> <a href="/login"><?cs var:_("Log in") ?></a>.</p>
</section>
