<?cs # admin_user_delete.cs - an administrator confirms deleting an account. ?>
<section class="admin">
  <?cs with:u = Victim.0 ?>
  <p><a href="/admin/users/<?cs var:u.Id ?>">&larr; <?cs var:u.Username ?></a></p>
  <h1><?cs var:_("Delete") ?> <?cs var:u.Username ?></h1>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("Nothing was changed; see the fields marked below.") ?></p><?cs /if ?>
  <p><?cs var:_("This deletes the account for good, with its jobs:") ?> <strong><?cs var:u.Username ?></strong> (<?cs var:u.Role ?>); <?cs var:_("jobs:") ?> <?cs var:u.Jobs ?>.</p>
  <p><?cs var:_("Its images and uploads, API keys, sessions, webhooks, two-factor login and exports go too; its waiting and running jobs are canceled first. The audit log keeps its entries with the name replaced by a pseudonym; this deletion is audited under your name.") ?></p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/delete" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="confirm"><?cs var:_("Type the user name to confirm:") ?> <strong><?cs var:u.Username ?></strong></label>
    <input id="confirm" name="confirm" autocomplete="off" required maxlength="128">
    <?cs if:Form.Errors.confirm ?><p class="field-error"><?cs var:Form.Errors.confirm ?></p><?cs /if ?>
    <button type="submit" class="danger"><?cs var:_("Delete this account") ?></button>
  </form>
  <?cs /with ?>
</section>
