<?cs # admin_user_delete.cs - an administrator confirms deleting an account. ?>
<section class="admin">
  <?cs with:u = Victim.0 ?>
  <p><a href="/admin/users/<?cs var:u.Id ?>">&larr; <?cs var:u.Username ?></a></p>
  <h1>Delete <?cs var:u.Username ?></h1>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">Nothing was changed; see the field marked below.</p><?cs /if ?>
  <p>This deletes the <?cs var:u.Role ?> account <strong><?cs var:u.Username ?></strong> for good: its <?cs var:u.Jobs ?> jobs with their images and uploads, API keys, sessions, webhooks, two-factor login and exports. Its waiting and running jobs are canceled first. The audit log keeps its entries with the name replaced by a pseudonym; this deletion is audited under your name.</p>
  <form method="post" action="/admin/users/<?cs var:u.Id ?>/delete" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="confirm">Type the user name, <strong><?cs var:u.Username ?></strong>, to confirm</label>
    <input id="confirm" name="confirm" autocomplete="off" required maxlength="128">
    <?cs if:Form.Errors.confirm ?><p class="field-error"><?cs var:Form.Errors.confirm ?></p><?cs /if ?>
    <button type="submit" class="danger">Delete this account</button>
  </form>
  <?cs /with ?>
</section>
