<?cs # account.cs - the signed-in user's own settings and sessions. ?>
<section class="account">
  <h1><?cs var:_("Account:") ?> <?cs var:User.Username ?></h1>
  <?cs if:Account.Done ?><p class="notice ok" role="status"><?cs var:Account.Done ?></p><?cs /if ?>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <?cs with:p = Account.Profile.0 ?>
  <p class="muted"><?cs var:_("Role") ?> <strong><?cs var:p.Role ?></strong>, <?cs var:_("tier") ?> <strong><?cs var:p.Tier ?></strong>, <strong id="credits"><?cs var:p.Credits ?></strong> <?cs var:_("credits") ?>; <?cs var:_("member since") ?> <?cs var:localtime(p.Created) ?><?cs if:p.LastLogin ?>, <?cs var:_("last login") ?> <?cs var:localtime(p.LastLogin) ?><?cs /if ?> (<?cs var:TimeZone ?>). <a href="/account/keys"><?cs var:_("API keys") ?></a> · <a href="/account/webhooks"><?cs var:_("Webhooks") ?></a> · <a href="/account/data"><?cs var:_("Your data") ?></a></p>

  <h2><?cs var:_("Profile") ?></h2>
  <form method="post" action="/account/profile" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="display_name"><?cs var:_("Display name") ?></label>
    <input id="display_name" name="display_name" maxlength="128" value="<?cs var:p.DisplayName ?>">
    <?cs if:Form.Errors.display_name ?><p class="field-error"><?cs var:Form.Errors.display_name ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>

  <h2><?cs var:_("Language and time zone") ?></h2>
  <form method="post" action="/account/preferences" class="stacked" id="prefs">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="language"><?cs var:_("Language") ?></label>
    <select id="language" name="language">
      <option value=""<?cs if:!p.Language ?> selected<?cs /if ?>><?cs var:_("As the browser asks") ?></option>
      <option value="en" lang="en"<?cs if:p.Language == "en" ?> selected<?cs /if ?>>English</option>
      <option value="zh-CN" lang="zh-CN"<?cs if:p.Language == "zh-CN" ?> selected<?cs /if ?>>简体中文</option>
    </select>
    <?cs if:Form.Errors.language ?><p class="field-error"><?cs var:Form.Errors.language ?></p><?cs /if ?>
    <label for="time_zone"><?cs var:_("Time zone") ?> <span class="muted"><?cs var:_("(times on every page are shown in it)") ?></span></label>
    <select id="time_zone" name="time_zone"<?cs if:!p.TimeZone ?> class="browser-tz"<?cs /if ?>>
      <?cs each:z = Zones ?><option<?cs if:z == Account.Zone ?> selected<?cs /if ?>><?cs var:z ?></option>
      <?cs /each ?>
    </select>
    <?cs if:Form.Errors.time_zone ?><p class="field-error"><?cs var:Form.Errors.time_zone ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save") ?></button>
  </form>
  <?cs /with ?>

  <h2><?cs var:_("Password") ?></h2>
  <form method="post" action="/account/password" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="current"><?cs var:_("Current password") ?></label>
    <input id="current" name="current" type="password" autocomplete="current-password" required>
    <?cs if:Form.Errors.current ?><p class="field-error"><?cs var:Form.Errors.current ?></p><?cs /if ?>
    <label for="password"><?cs var:_("New password") ?> <span class="muted"><?cs var:_("(at least 10 characters)") ?></span></label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password ?><p class="field-error"><?cs var:Form.Errors.password ?></p><?cs /if ?>
    <label for="password2"><?cs var:_("New password again") ?></label>
    <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="10">
    <?cs if:Form.Errors.password2 ?><p class="field-error"><?cs var:Form.Errors.password2 ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Change password") ?></button>
  </form>

  <?cs include:"account_email.cs" ?>

  <h2><?cs var:_("Two-factor login") ?></h2>
  <p><a href="/account/security"><?cs var:_("Security") ?></a><?cs var:_(": two-factor login, recovery codes and remembered devices.") ?></p>

  <h2><?cs var:_("Sessions") ?></h2>
  <table class="list">
    <thead><tr><th><?cs var:_("Started") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Last seen") ?></th><th><?cs var:_("Address") ?></th><th><?cs var:_("Browser") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:s = Account.Sessions ?>
    <tr>
      <td><?cs var:localtime(s.Created) ?></td><td><?cs var:localtime(s.LastSeen) ?></td><td><?cs var:s.Ip ?></td>
      <td class="agent"><?cs var:s.Agent ?></td>
      <td><?cs if:s.Current == "1" ?><em><?cs var:_("this one") ?></em><?cs /if ?>
        <?cs call:confirm("/account/sessions/" + s.Id + "/revoke", _("End"), _("End this session? That browser will be logged out."), _("Yes, end it"), "small") ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs call:confirm("/account/sessions/revoke-all", _("Log out everywhere"), _("End every session, this one too?"), _("Yes, log out everywhere"), "") ?>
</section>
