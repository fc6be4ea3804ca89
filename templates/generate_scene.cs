<?cs # generate_scene.cs - the manifest mode's scene form: the manifest's
fields one by one (lists of the angles, distances and the presets the user
sees), for those who would rather not write JSON. "Use the form" writes
the manifest they make into the JSON box and previews it; the box's
manifest fills them again on every preview. Errors stand beside the field
that made them. ?>
<?cs def:scene_error(name) ?><?cs if:Form.Errors[name] ?><p class="field-error" id="<?cs var:name ?>-error"><?cs var:Form.Errors[name] ?></p><?cs /if ?><?cs /def ?>
<?cs def:scene_input(name, label, type) ?>
      <label for="<?cs var:name ?>"><?cs var:label ?></label>
      <input id="<?cs var:name ?>" name="<?cs var:name ?>" type="<?cs var:type ?>" value="<?cs var:Scene[name] ?>"<?cs if:type == "number" ?> inputmode="decimal" step="any"<?cs /if ?><?cs if:Form.Errors[name] ?> aria-invalid="true" aria-describedby="<?cs var:name ?>-error"<?cs /if ?>>
      <?cs call:scene_error(name) ?>
<?cs /def ?>
<?cs def:scene_presets(name, label, kind) ?>
      <label for="<?cs var:name ?>"><?cs var:label ?></label>
      <select id="<?cs var:name ?>" name="<?cs var:name ?>"<?cs if:Form.Errors[name] ?> aria-invalid="true" aria-describedby="<?cs var:name ?>-error"<?cs /if ?>>
        <option value=""><?cs var:_("(none)") ?></option>
        <?cs each:o = Scene.Presets[kind] ?><option value="<?cs var:o.Slug ?>"<?cs if:o.Slug == Scene[name] ?> selected<?cs /if ?>><?cs var:o.Name ?> (<?cs var:o.Slug ?>)</option><?cs /each ?>
      </select>
      <?cs call:scene_error(name) ?>
<?cs /def ?>
<?cs def:scene_choice(name, label, list) ?>
      <label for="<?cs var:name ?>"><?cs var:label ?></label>
      <select id="<?cs var:name ?>" name="<?cs var:name ?>"<?cs if:Form.Errors[name] ?> aria-invalid="true" aria-describedby="<?cs var:name ?>-error"<?cs /if ?>>
        <option value=""><?cs var:_("(none)") ?></option>
        <?cs each:a = Scene[list] ?><option<?cs if:a == Scene[name] ?> selected<?cs /if ?>><?cs var:a ?></option><?cs /each ?>
        <?cs if:Form.Errors[name] ?><option selected><?cs var:Scene[name] ?></option><?cs /if ?>
      </select>
      <?cs call:scene_error(name) ?>
<?cs /def ?>
    <fieldset class="scene-form" id="scene-form">
      <legend><?cs var:_("Scene") ?></legend>
      <p class="muted"><?cs var:_("Fill in the shot; “Use the form” writes its manifest into the JSON box below and shows what it compiles to. Blank fields are left out.") ?></p>
      <?cs call:scene_input("scene_subject", _("Subject"), "text") ?>
      <?cs call:scene_input("scene_environment", _("Environment"), "text") ?>
      <div class="scene-row">
      <div><?cs call:scene_choice("scene_angle", _("Camera angle"), "angles") ?></div>
      <div><?cs call:scene_choice("scene_distance", _("Camera distance"), "distances") ?></div>
      </div>
      <div class="scene-row">
      <div><?cs call:scene_presets("scene_lens", _("Lens"), "lens") ?></div>
      <div><?cs call:scene_input("scene_lens_mm", _("Focal length (mm)"), "number") ?></div>
      <div><?cs call:scene_input("scene_aperture", _("Aperture (f-number)"), "number") ?></div>
      </div>
      <div class="scene-row">
      <div><?cs call:scene_presets("scene_setup", _("Lighting setup"), "lighting") ?></div>
      <div><?cs call:scene_presets("scene_time", _("Time of day"), "lighting") ?></div>
      <div><?cs call:scene_input("scene_kelvin", _("Colour temperature (K)"), "number") ?></div>
      </div>
      <?cs call:scene_input("scene_materials", _("Materials (comma-separated)"), "text") ?>
      <?cs if:subcount(Scene.Presets.material) > 0 ?><p class="muted hint"><?cs var:_("Material presets:") ?> <?cs each:o = Scene.Presets.material ?><code><?cs var:o.Slug ?></code><?cs if:!last(o) ?>, <?cs /if ?><?cs /each ?></p><?cs /if ?>
      <?cs call:scene_presets("scene_style", _("Style"), "style") ?>
      <?cs call:scene_input("scene_negative", _("Avoid (negative)"), "text") ?>
      <div class="scene-row">
      <div><?cs call:scene_input("scene_width", _("Width"), "number") ?></div>
      <div><?cs call:scene_input("scene_height", _("Height"), "number") ?></div>
      <div><?cs call:scene_input("scene_seed", _("Seed"), "number") ?></div>
      </div>
      <?cs call:scene_input("scene_model", _("Model"), "text") ?>
      <?cs call:scene_input("scene_loras", _("LoRAs (name or name:weight, comma-separated)"), "text") ?>
      <div class="submit-row">
        <button type="submit" name="action" value="scene" class="secondary" id="scene-preview"><?cs var:_("Use the form") ?></button>
        <button type="submit" name="action" value="scene_submit" id="scene-submit"><?cs var:_("Generate from the form") ?></button>
      </div>
    </fieldset>
