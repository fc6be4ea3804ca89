<?cs # preset.cs - one preset: its versions (newest first), a form that
edits it into a new version and one that deletes it (its owner's, or an
admin's for a site preset). ?>
<section class="preset">
  <h1><?cs var:Preset.Kind ?> <code><?cs var:Preset.Slug ?></code><?cs if:Preset.Site ?> <span class="muted"><?cs var:_("(site)") ?></span><?cs /if ?></h1>
  <p><a href="/presets"><?cs var:_("All presets") ?></a></p>
  <h2><?cs var:_("Versions") ?></h2>
  <table class="list" id="preset-versions">
    <thead><tr><th><?cs var:_("Version") ?></th><th><?cs var:_("Name") ?></th><th><?cs var:_("Body") ?></th><th><?cs var:_("Made") ?></th></tr></thead>
    <tbody>
    <?cs each:v = Versions ?><tr><td><?cs var:v.Version ?></td><td><?cs var:v.Name ?></td><td><code><?cs var:v.Body ?></code></td><td><?cs var:v.Created ?></td></tr><?cs /each ?>
    </tbody>
  </table>
  <?cs if:Preset.Editable ?>
  <h2><?cs var:_("Edit (makes a new version)") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No version was made; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/presets/<?cs var:Preset.Id ?>" class="stacked" id="preset-edit">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="preset-name"><?cs var:_("Name") ?></label>
    <input id="preset-name" name="name" maxlength="80" value="<?cs if:Form.name ?><?cs var:Form.name ?><?cs else ?><?cs var:Versions.0.Name ?><?cs /if ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <label for="preset-body"><?cs var:_("Body (JSON)") ?></label>
    <textarea id="preset-body" name="body" rows="5" class="code" translate="no"><?cs if:Form.body ?><?cs var:Form.body ?><?cs else ?><?cs var:Versions.0.Body ?><?cs /if ?></textarea>
    <?cs if:Form.Errors.body ?><p class="field-error"><?cs var:Form.Errors.body ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save as a new version") ?></button>
  </form>
  <form method="post" action="/presets/<?cs var:Preset.Id ?>/delete" class="inline" id="preset-delete">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit" class="danger"><?cs var:_("Delete the preset") ?></button>
  </form>
  <?cs /if ?>
</section>
