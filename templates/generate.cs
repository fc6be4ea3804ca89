<?cs # generate.cs - the studio: the form that makes a job on one side, the
job's progress, live preview and images on the other (generate.js fills
them in place; without scripts the form posts and the job page follows
the job). Every text the script shows comes from a data- attribute
here. ?>
<?cs if:Gen.Mode == "manifest" ?><?cs include:"generate_manifest.cs" ?><?cs else ?>
<section class="generate studio">
  <h1><?cs var:_("Generate") ?></h1>
  <p class="muted"><a href="/generate/manifest" id="manifest-mode"><?cs var:_("Describe the shot as a scene manifest instead") ?></a></p>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No job was made; see the fields marked below.") ?></p><?cs /if ?>
  <?cs if:Form.Error ?><p class="notice error" role="alert"><?cs var:_("No job was made:") ?> <?cs var:Form.Error ?><?cs var:_(".") ?></p><?cs /if ?>
  <div class="studio-grid">
  <form id="gen-form" method="post" action="/generate" class="stacked wide" enctype="multipart/form-data"
        data-t-failed="<?cs var:_("No job was made; see the fields marked below.") ?>"
        data-t-offline="<?cs var:_("kiln could not be reached; the form was not sent.") ?>">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="prompt"><?cs var:_("Prompt") ?></label>
    <textarea id="prompt" name="prompt" rows="3" maxlength="2000" required><?cs var:Form.prompt ?></textarea>
    <?cs if:Form.Errors.prompt ?><p class="field-error"><?cs var:Form.Errors.prompt ?></p><?cs /if ?>
    <?cs if:subcount(Gen.Loras) > 0 || subcount(Gen.Embeddings) > 0 ?>
    <div id="pickers" class="pickers" hidden>
      <?cs if:subcount(Gen.Loras) > 0 ?><p class="picker"><span class="muted"><?cs var:_("Insert a LoRA:") ?></span>
        <?cs each:m = Gen.Loras ?><button type="button" class="small toggle" data-insert="&lt;lora:<?cs var:m ?>:1&gt;"<?cs if:m.family ?> title="<?cs var:m.family ?>"<?cs /if ?>><?cs var:m ?></button>
        <?cs /each ?></p><?cs /if ?>
      <?cs if:subcount(Gen.Embeddings) > 0 ?><p class="picker"><span class="muted"><?cs var:_("Insert an embedding:") ?></span>
        <?cs each:m = Gen.Embeddings ?><button type="button" class="small toggle" data-insert="<?cs var:m ?>"<?cs if:m.family ?> title="<?cs var:m.family ?>"<?cs /if ?>><?cs var:m ?></button>
        <?cs /each ?></p><?cs /if ?>
    </div>
    <?cs /if ?>
    <label for="negative_prompt"><?cs var:_("Negative prompt") ?> <span class="muted"><?cs var:_("(what to avoid)") ?></span></label>
    <textarea id="negative_prompt" name="negative_prompt" rows="2" maxlength="2000"><?cs var:Form.negative_prompt ?></textarea>
    <?cs if:Form.Errors.negative_prompt ?><p class="field-error"><?cs var:Form.Errors.negative_prompt ?></p><?cs /if ?>
    <?cs if:subcount(Gen.Embeddings) > 0 ?><p class="muted"><?cs var:_("Embeddings, used by writing their name in either prompt:") ?> <?cs each:m = Gen.Embeddings ?><?cs var:m ?><?cs if:!last(m) ?>, <?cs /if ?><?cs /each ?></p><?cs /if ?>
    <label for="model"><?cs var:_("Model") ?></label>
    <select id="model" name="model">
    <?cs each:m = Gen.Models ?><option value="<?cs var:m ?>"<?cs if:m == Gen.Chosen ?> selected<?cs /if ?> data-lo="<?cs var:m.lo ?>" data-hi="<?cs var:m.hi ?>" data-mult="<?cs var:m.mult ?>" data-steps-max="<?cs var:m.steps_max ?>" data-w="<?cs var:m.w ?>" data-h="<?cs var:m.h ?>" data-steps="<?cs var:m.steps ?>" data-sizes="<?cs var:m.sizes ?>"<?cs if:m.rate ?> data-rate="<?cs var:m.rate ?>"<?cs /if ?>><?cs var:m ?> (<?cs if:m.type ?><?cs var:m.type ?>, <?cs /if ?><?cs var:m.native ?>&times;<?cs var:m.native ?>)</option><?cs /each ?>
    </select>
    <?cs if:Form.Errors.model ?><p class="field-error"><?cs var:Form.Errors.model ?></p><?cs /if ?>
    <label for="size"><?cs var:_("Size preset") ?> <span class="muted"><?cs var:_("(aspect ratio, for this model)") ?></span></label>
    <select id="size" name="size" data-t-custom="<?cs var:_("Custom: the width and height below") ?>">
      <option value=""><?cs var:_("Custom: the width and height below") ?></option>
      <?cs each:p = Gen.Presets ?><option value="<?cs var:p ?>"<?cs if:Form.size == p ?> selected<?cs /if ?>><?cs var:p.ratio ?> &middot; <?cs var:p ?></option>
      <?cs /each ?>
    </select>
    <?cs if:Form.Errors.size ?><p class="field-error"><?cs var:Form.Errors.size ?></p><?cs /if ?>
    <div class="grid">
      <?cs def:num(name, label, min, max, step) ?>
      <div><label for="<?cs var:name ?>"><?cs var:label ?></label>
        <input id="<?cs var:name ?>" name="<?cs var:name ?>" type="number" min="<?cs var:min ?>" max="<?cs var:max ?>" step="<?cs var:step ?>" value="<?cs var:Form[name] ?>" placeholder="<?cs var:Gen.Default[name] ?>">
        <?cs if:Form.Errors[name] ?><p class="field-error"><?cs var:Form.Errors[name] ?></p><?cs /if ?></div>
      <?cs /def ?>
      <?cs call:num("width", _("Width"), Gen.Limit.side_min, Gen.Limit.side_max, Gen.Limit.side_step) ?>
      <?cs call:num("height", _("Height"), Gen.Limit.side_min, Gen.Limit.side_max, Gen.Limit.side_step) ?>
      <?cs call:num("steps", _("Steps"), 1, Gen.Limit.steps_max, 1) ?>
      <?cs call:num("cfg_scale", _("CFG scale"), 0, 30, "any") ?>
      <div><label for="sampler"><?cs var:_("Sampler") ?></label>
        <select id="sampler" name="sampler">
        <?cs each:m = Gen.Samplers ?><option<?cs if:(Form.sampler && Form.sampler == m) || (!Form.sampler && m == Gen.Default.sampler) ?> selected<?cs /if ?>><?cs var:m ?></option><?cs /each ?>
        </select>
        <?cs if:Form.Errors.sampler ?><p class="field-error"><?cs var:Form.Errors.sampler ?></p><?cs /if ?></div>
      <?cs call:num("batch_count", _("Images"), 1, Gen.Limit.batch_max, 1) ?>
    </div>
    <label for="seed"><?cs var:_("Seed") ?> <span class="muted"><?cs var:_("(empty: random)") ?></span></label>
    <div id="seed-row" class="seed-row">
      <input id="seed" name="seed" type="number" min="0" max="4294967295" step="1" value="<?cs var:Form.seed ?>" placeholder="<?cs var:_("random") ?>">
      <button type="button" id="seed-random" class="toggle" hidden><?cs var:_("Random") ?></button>
      <a id="seed-reuse" class="button-link" href="/generate?from=<?cs var:Gen.Last.id ?>&amp;seed=<?cs var:Gen.Last.seed ?>" data-seed="<?cs var:Gen.Last.seed ?>"<?cs if:!Gen.Last.id ?> hidden<?cs /if ?>><?cs var:_("Reuse last") ?> (<span id="seed-reuse-n"><?cs var:Gen.Last.seed ?></span>)</a>
    </div>
    <?cs if:Form.Errors.seed ?><p class="field-error"><?cs var:Form.Errors.seed ?></p><?cs /if ?>
    <label for="loras">LoRAs <span class="muted"><?cs var:_("(optional: name:weight, separated by commas; or <lora:name:0.8> in the prompt)") ?></span></label>
    <input id="loras" name="loras" type="text" maxlength="1024" value="<?cs var:Form.loras ?>"<?cs if:subcount(Gen.Loras) > 0 ?> list="lora-names"<?cs /if ?>>
    <?cs if:subcount(Gen.Loras) > 0 ?><datalist id="lora-names"><?cs each:m = Gen.Loras ?><option value="<?cs var:m ?>:1"><?cs /each ?></datalist>
    <p class="muted"><?cs var:_("Available:") ?> <?cs each:m = Gen.Loras ?><?cs var:m ?><?cs if:!last(m) ?>, <?cs /if ?><?cs /each ?></p><?cs /if ?>
    <?cs if:Form.Errors.loras ?><p class="field-error"><?cs var:Form.Errors.loras ?></p><?cs /if ?>
    <details class="hires"<?cs if:Form.hires_scale || Form.Errors.hires_scale || Form.Errors.hires_strength || Form.Errors.hires_steps || Form.Errors.hires_upscaler ?> open<?cs /if ?>>
      <summary><?cs var:_("Hires fix") ?> <span class="muted"><?cs var:_("(render, enlarge, then refine)") ?></span></summary>
      <div class="grid">
        <div><label for="hires_scale"><?cs var:_("Scale") ?> <span class="muted"><?cs var:_("(empty: off)") ?></span></label>
          <input id="hires_scale" name="hires_scale" type="number" min="1" max="4" step="any" value="<?cs var:Form.hires_scale ?>" placeholder="<?cs var:_("off") ?>">
          <?cs if:Form.Errors.hires_scale ?><p class="field-error"><?cs var:Form.Errors.hires_scale ?></p><?cs /if ?></div>
        <div><label for="hires_strength"><?cs var:_("Strength") ?></label>
          <input id="hires_strength" name="hires_strength" type="number" min="0" max="1" step="any" value="<?cs var:Form.hires_strength ?>" placeholder="0.7">
          <?cs if:Form.Errors.hires_strength ?><p class="field-error"><?cs var:Form.Errors.hires_strength ?></p><?cs /if ?></div>
        <div><label for="hires_steps"><?cs var:_("Steps") ?> <span class="muted"><?cs var:_("(0: as above)") ?></span></label>
          <input id="hires_steps" name="hires_steps" type="number" min="0" max="<?cs var:Gen.Limit.steps_max ?>" step="1" value="<?cs var:Form.hires_steps ?>" placeholder="0">
          <?cs if:Form.Errors.hires_steps ?><p class="field-error"><?cs var:Form.Errors.hires_steps ?></p><?cs /if ?></div>
        <div><label for="hires_upscaler"><?cs var:_("Upscaler") ?></label>
          <select id="hires_upscaler" name="hires_upscaler">
            <option value="">latent (<?cs var:_("default") ?>)</option>
            <?cs each:u = Gen.Upscalers ?><option<?cs if:Form.hires_upscaler == u ?> selected<?cs /if ?>><?cs var:u ?></option><?cs /each ?>
            <option<?cs if:Form.hires_upscaler == "latent-nearest" ?> selected<?cs /if ?>>latent-nearest</option>
            <option<?cs if:Form.hires_upscaler == "lanczos" ?> selected<?cs /if ?>>lanczos</option>
          </select>
          <?cs if:Form.Errors.hires_upscaler ?><p class="field-error"><?cs var:Form.Errors.hires_upscaler ?></p><?cs /if ?></div>
      </div>
    </details>
    <?cs include:"generate_inputs.cs" ?>
    <label for="output_format"><?cs var:_("File format") ?> <span class="muted"><?cs var:_("(of the ZIP, beside the PNGs)") ?></span></label>
    <select id="output_format" name="output_format">
      <option value="png"><?cs var:_("PNG, 8-bit") ?></option>
      <option value="png16"<?cs if:Form.output_format == "png16" ?> selected<?cs /if ?>><?cs var:_("PNG, 16-bit") ?></option>
      <option value="tiff16"<?cs if:Form.output_format == "tiff16" ?> selected<?cs /if ?>><?cs var:_("TIFF, 16-bit") ?></option>
      <option value="tiff32"<?cs if:Form.output_format == "tiff32" ?> selected<?cs /if ?>><?cs var:_("TIFF, 32-bit float") ?></option>
      <option value="exr"<?cs if:Form.output_format == "exr" ?> selected<?cs /if ?>><?cs var:_("OpenEXR, 32-bit float") ?></option>
      <option value="exr16"<?cs if:Form.output_format == "exr16" ?> selected<?cs /if ?>><?cs var:_("OpenEXR, 16-bit half") ?></option>
    </select>
    <?cs if:Form.Errors.output_format ?><p class="field-error"><?cs var:Form.Errors.output_format ?></p><?cs /if ?>
    <?cs if:subcount(Gen.Teams) > 0 ?>
    <label for="team_id"><?cs var:_("For") ?></label>
    <select id="team_id" name="team_id">
      <option value=""><?cs var:_("me (my credits)") ?></option>
      <?cs each:t = Gen.Teams ?><option value="<?cs var:t.Id ?>"<?cs if:t.Id == Form.team_id ?> selected<?cs /if ?>><?cs var:_("team") ?> <?cs var:t.Name ?> (<?cs var:t.Credits ?>)</option><?cs /each ?>
    </select>
    <?cs if:Form.Errors.team_id ?><p class="field-error"><?cs var:Form.Errors.team_id ?></p><?cs /if ?>
    <?cs /if ?>
    <label for="webhook_url">Webhook URL <span class="muted"><?cs var:_("(optional: told when the job ends)") ?></span></label>
    <input id="webhook_url" name="webhook_url" type="url" maxlength="2048" value="<?cs var:Form.webhook_url ?>">
    <?cs if:Form.Errors.webhook_url ?><p class="field-error"><?cs var:Form.Errors.webhook_url ?></p><?cs /if ?>
    <p id="estimate" class="estimate" aria-live="polite" data-unit="262144" data-strength="0.7"
       data-t-one="<?cs var:_("1 credit") ?>" data-t-many="<?cs var:_("{n} credits") ?>"
       data-t-secs="<?cs var:_("about {n} s of rendering") ?>" data-t-min="<?cs var:_("about {n} min of rendering") ?>"
       data-t-none="<?cs var:_("no time estimate yet (nothing made with this model so far)") ?>">
      <?cs var:_("Estimate:") ?> <strong id="est-credits"><?cs if:Gen.Estimate.credits == 1 ?><?cs var:_("1 credit") ?><?cs else ?><?cs var:subst1(_("{n} credits"), Gen.Estimate.credits) ?><?cs /if ?></strong><?cs var:_(", ") ?><span id="est-time"><?cs if:Gen.Estimate.min ?><?cs var:subst1(_("about {n} min of rendering"), Gen.Estimate.min) ?><?cs elif:Gen.Estimate.secs ?><?cs var:subst1(_("about {n} s of rendering"), Gen.Estimate.secs) ?><?cs else ?><?cs var:_("no time estimate yet (nothing made with this model so far)") ?><?cs /if ?></span><?cs if:Gen.Credits ?><?cs var:subst1(_("; you have {n} credits"), Gen.Credits) ?><?cs /if ?><?cs var:_(".") ?>
    </p>
    <div class="submit-row">
      <button type="submit" id="gen-submit"><?cs var:_("Generate") ?></button>
      <span class="muted kbd-hint">Ctrl+Enter</span>
    </div>
  </form>
  <aside id="studio-out" class="studio-out" aria-live="polite"
         <?cs if:Gen.Last.id ?>data-job="<?cs var:Gen.Last.id ?>"<?cs /if ?>
         data-t-sending="<?cs var:_("Sending…") ?>" data-t-queued="<?cs var:_("Waiting in the queue.") ?>" data-t-queued-at="<?cs var:_("Waiting in the queue (position {n}).") ?>"
         data-t-step="<?cs var:_("Step {n} of {m}.") ?>" data-t-step-eta="<?cs var:_("Step {n} of {m}, about {s} s left.") ?>"
         data-t-done="<?cs var:_("Job {n}: done.") ?>" data-t-failed="<?cs var:_("Job {n} failed: {e}") ?>" data-t-canceled="<?cs var:_("Job {n} was canceled.") ?>"
         data-t-image="<?cs var:_("Image {n}") ?>" data-t-seed="<?cs var:_("seed {n}") ?>" data-t-use-seed="<?cs var:_("Use this seed") ?>" data-t-lost="<?cs var:_("Lost track of the job; open its page.") ?>">
    <h2><?cs var:_("Result") ?></h2>
    <p id="studio-status" class="muted"><?cs var:_("Images appear here as they are made") ?><?cs if:Gen.Last.id ?><?cs var:_("; your last job:") ?> <a href="/jobs/<?cs var:Gen.Last.id ?>"><?cs var:subst1(_("job {n}"), Gen.Last.id) ?></a><?cs /if ?><?cs var:_(".") ?></p>
    <progress id="studio-progress" class="hidden" max="1" value="0"></progress>
    <img id="studio-preview" class="preview hidden" alt="<?cs var:_("Live preview") ?>">
    <div id="studio-images" class="images"></div>
    <p><a id="studio-job-link" class="hidden" href="/jobs"><?cs var:_("Open the job page") ?></a></p>
  </aside>
  </div>
  <?cs if:subcount(Gen.Examples) > 0 ?>
  <h2><?cs var:subst1(_("Prompts {n} knows"), Gen.Chosen) ?></h2>
  <p class="muted"><?cs var:Gen.Default.Description ?></p>
  <ul class="examples">
    <?cs each:e = Gen.Examples ?><li><a href="/generate?prompt=<?cs var:url_escape(e) ?>"><?cs var:e ?></a></li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
</section>
<?cs /if ?>
