<?cs # register.cs - the registration form, or why there is none. ?>
<section class="form-page">
  <h1>Register</h1>
  <?cs if:Register.Mode == "closed" ?>
  <p class="notice">Registration is closed on this site. Ask an administrator for an account.</p>
  <?cs else ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Please correct the fields marked below.</p><?cs /if ?>
  <form method="post" action="/register" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="username">User name</label>
    <input id="username" name="username" autocomplete="username" required minlength="2" maxlength="64" pattern="[A-Za-z0-9._\-]+" value="<?cs var:Form.Username ?>">
    <?cs if:Form.Errors.username ?><p class="field-error"><?cs var:Form.Errors.username ?></p><?cs /if ?>
    <label for="display_name">Display name <span class="muted">(optional)</span></label>
    <input id="display_name" name="display_name" maxlength="128" value="<?cs var:Form.DisplayName ?>">
    <?cs if:Form.Errors.display_name ?><p class="field-error"><?cs var:Form.Errors.display_name ?></p><?cs /if ?>
    <label for="password">Password <span class="muted">(at least 10 characters)</span></label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="password2">Password again</label>
    <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password2 ?><p class="field-error"><?cs var:Form.Errors.password2 ?></p><?cs /if ?>
    <?cs if:Register.Mode == "invite" ?>
    <label for="invite">Invite code</label>
    <input id="invite" name="invite" required value="<?cs var:Form.Invite ?>">
    <?cs if:Form.Errors.invite ?><p class="field-error"><?cs var:Form.Errors.invite ?></p><?cs /if ?>
    <?cs /if ?>
    <button type="submit">Create account</button>
  </form>
  <?cs /if ?>
  <p class="muted">Have an account? <a href="/login">Log in</a>.</p>
</section>
