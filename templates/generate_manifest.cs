<?cs # generate_manifest.cs - the generate page's manifest mode: a scene
manifest (JSON, docs/manifest.md) on one side, what it compiles to on the
other (server-rendered on preview and submit; generate.js previews live
by sending the form in the background). Errors stand beside the
manifest with their JSON path. ?>
<section class="generate studio manifest-mode">
  <h1><?cs var:_("Generate from a scene manifest") ?></h1>
  <p class="muted"><a href="/generate"><?cs var:_("Back to the prompt form") ?></a> · <a href="/presets"><?cs var:_("Presets") ?></a></p>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:_("No job was made:") ?> <?cs var:Form.Error ?><?cs var:_(".") ?></p><?cs /if ?>
  <div class="studio-grid">
  <form id="manifest-form" method="post" action="/generate/manifest" class="stacked wide">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <?cs if:Form.manifest_presets ?><input type="hidden" name="manifest_presets" value="<?cs var:Form.manifest_presets ?>"><p class="muted" id="manifest-pinned"><?cs var:_("Filled from an earlier job: its presets compile in the versions it used.") ?></p><?cs /if ?>
    <?cs include:"generate_scene.cs" ?>
    <label for="manifest"><?cs var:_("Manifest (JSON)") ?></label>
    <textarea id="manifest" name="manifest" rows="18" class="code" translate="no" spellcheck="false"<?cs if:Form.Errors.manifest ?> aria-invalid="true" aria-describedby="manifest-error"<?cs /if ?>><?cs var:Form.manifest ?></textarea>
    <?cs if:Form.Errors.manifest ?><p class="field-error" id="manifest-error" data-path="<?cs var:Compiled.Path ?>"><?cs var:Form.Errors.manifest ?></p><?cs /if ?>
    <label for="manifest-steps"><?cs var:_("Steps") ?> <span class="muted"><?cs var:_("(optional: the style's otherwise)") ?></span></label>
    <input id="manifest-steps" name="steps" type="number" min="1" max="150" value="<?cs var:Form.steps ?>">
    <?cs if:Form.Errors.steps ?><p class="field-error"><?cs var:Form.Errors.steps ?></p><?cs /if ?>
    <div class="submit-row">
      <button type="submit" name="action" value="preview" class="secondary" id="manifest-preview"><?cs var:_("Preview") ?></button>
      <button type="submit" name="action" value="submit" id="manifest-submit"><?cs var:_("Generate") ?></button>
    </div>
  </form>
  <aside id="manifest-out" class="studio-out" aria-live="polite">
    <h2><?cs var:_("What it compiles to") ?></h2>
    <?cs if:Compiled.Prompt ?>
    <dl class="compiled">
      <dt><?cs var:_("Prompt") ?></dt><dd id="compiled-prompt"><?cs var:Compiled.Prompt ?></dd>
      <dt><?cs var:_("Negative prompt") ?></dt><dd id="compiled-negative"><?cs var:Compiled.Negative ?></dd>
      <?cs if:Compiled.Size ?><dt><?cs var:_("Size") ?></dt><dd><?cs var:Compiled.Size ?></dd><?cs /if ?>
      <?cs if:Compiled.Seed ?><dt><?cs var:_("Seed") ?></dt><dd><?cs var:Compiled.Seed ?></dd><?cs /if ?>
      <?cs if:Compiled.Model ?><dt><?cs var:_("Model") ?></dt><dd><?cs var:Compiled.Model ?></dd><?cs /if ?>
      <?cs if:Compiled.Steps ?><dt><?cs var:_("Steps") ?></dt><dd><?cs var:Compiled.Steps ?></dd><?cs /if ?>
      <?cs if:Compiled.Cfg ?><dt><?cs var:_("CFG scale") ?></dt><dd><?cs var:Compiled.Cfg ?></dd><?cs /if ?>
      <?cs if:Compiled.Sampler ?><dt><?cs var:_("Sampler") ?></dt><dd><?cs var:Compiled.Sampler ?></dd><?cs /if ?>
      <?cs if:subcount(Compiled.Presets) > 0 ?><dt><?cs var:_("Presets") ?></dt><dd><?cs each:p = Compiled.Presets ?><code><?cs var:p ?></code><?cs if:!last(p) ?>, <?cs /if ?><?cs /each ?></dd><?cs /if ?>
    </dl>
    <?cs else ?>
    <p class="muted" id="compiled-none"><?cs var:_("Preview the manifest to see its prompt, negative prompt and settings here.") ?></p>
    <?cs /if ?>
  </aside>
  </div>
</section>
