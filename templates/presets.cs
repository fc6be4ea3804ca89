<?cs # presets.cs - the scene presets a user sees (the site's and their
own), newest versions, and a form to make one. ?>
<section class="presets">
  <h1><?cs var:_("Presets") ?></h1>
  <p><?cs var:_("Presets are the words a scene manifest is compiled from: a style, a lens, a lighting or a material, named by its slug in a manifest. Editing one makes a new version; jobs keep the versions they were made with.") ?> <a href="/generate/manifest"><?cs var:_("Generate from a scene manifest") ?></a></p>
  <table class="list" id="presets-list">
    <thead><tr><th><?cs var:_("Kind") ?></th><th><?cs var:_("Slug") ?></th><th><?cs var:_("Name") ?></th><th><?cs var:_("Version") ?></th><th><?cs var:_("Owner") ?></th></tr></thead>
    <tbody>
    <?cs each:p = Presets ?><tr>
      <td><?cs var:p.Kind ?></td>
      <td><a href="/presets/<?cs var:p.Id ?>"><code><?cs var:p.Slug ?></code></a></td>
      <td><?cs var:p.Name ?></td>
      <td><?cs var:p.Version ?></td>
      <td><?cs if:p.Site == "1" ?><?cs var:_("site") ?><?cs else ?><?cs var:_("yours") ?><?cs /if ?></td>
    </tr><?cs /each ?>
    </tbody>
  </table>
  <h2><?cs var:_("New preset") ?></h2>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No preset was made; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/presets" class="stacked" id="preset-new">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="preset-kind"><?cs var:_("Kind") ?></label>
    <select id="preset-kind" name="kind">
      <option value="style"<?cs if:Form.kind == "style" ?> selected<?cs /if ?>><?cs var:_("style") ?></option>
      <option value="lens"<?cs if:Form.kind == "lens" ?> selected<?cs /if ?>><?cs var:_("lens") ?></option>
      <option value="lighting"<?cs if:Form.kind == "lighting" ?> selected<?cs /if ?>><?cs var:_("lighting") ?></option>
      <option value="material"<?cs if:Form.kind == "material" ?> selected<?cs /if ?>><?cs var:_("material") ?></option>
    </select>
    <?cs if:Form.Errors.kind ?><p class="field-error"><?cs var:Form.Errors.kind ?></p><?cs /if ?>
    <label for="preset-slug"><?cs var:_("Slug") ?> <span class="muted"><?cs var:_("(a-z, 0-9 and -: how a manifest names it)") ?></span></label>
    <input id="preset-slug" name="slug" maxlength="48" value="<?cs var:Form.slug ?>">
    <?cs if:Form.Errors.slug ?><p class="field-error"><?cs var:Form.Errors.slug ?></p><?cs /if ?>
    <label for="preset-name"><?cs var:_("Name") ?></label>
    <input id="preset-name" name="name" maxlength="80" value="<?cs var:Form.name ?>">
    <?cs if:Form.Errors.name ?><p class="field-error"><?cs var:Form.Errors.name ?></p><?cs /if ?>
    <label for="preset-body"><?cs var:_("Body (JSON)") ?></label>
    <textarea id="preset-body" name="body" rows="5" class="code" translate="no" placeholder="{&quot;prompt&quot;: &quot;...&quot;, &quot;negative&quot;: &quot;...&quot;}"><?cs var:Form.body ?></textarea>
    <?cs if:Form.Errors.body ?><p class="field-error"><?cs var:Form.Errors.body ?></p><?cs /if ?>
    <?cs if:Presets.Admin ?><label><input type="checkbox" name="site" value="1"> <?cs var:_("A site preset (everyone sees it)") ?></label><?cs /if ?>
    <?cs if:Form.Errors.site ?><p class="field-error"><?cs var:Form.Errors.site ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Make the preset") ?></button>
  </form>
</section>
