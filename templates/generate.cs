<?cs # generate.cs - the form that makes a job. ?>
<section class="generate">
  <h1>Generate</h1>
  <?cs if:Form.Failed ?><p class="notice error" role="alert">No job was made; see the fields marked below.</p><?cs /if ?>
  <?cs if:Form.Error ?><p class="notice error" role="alert">No job was made: <?cs var:Form.Error ?>.</p><?cs /if ?>
  <form method="post" action="/generate" class="stacked wide" enctype="multipart/form-data">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="prompt">Prompt</label>
    <textarea id="prompt" name="prompt" rows="3" maxlength="2000" required><?cs var:Form.prompt ?></textarea>
    <?cs if:Form.Errors.prompt ?><p class="field-error"><?cs var:Form.Errors.prompt ?></p><?cs /if ?>
    <label for="negative_prompt">Negative prompt <span class="muted">(what to avoid)</span></label>
    <textarea id="negative_prompt" name="negative_prompt" rows="2" maxlength="2000"><?cs var:Form.negative_prompt ?></textarea>
    <?cs if:Form.Errors.negative_prompt ?><p class="field-error"><?cs var:Form.Errors.negative_prompt ?></p><?cs /if ?>
    <div class="grid">
      <div><label for="model">Model</label>
        <select id="model" name="model">
        <?cs each:m = Gen.Models ?><option<?cs if:(Form.model && Form.model == m) || (!Form.model && m == Gen.Default.Model) ?> selected<?cs /if ?>><?cs var:m ?></option><?cs /each ?>
        </select>
        <?cs if:Form.Errors.model ?><p class="field-error"><?cs var:Form.Errors.model ?></p><?cs /if ?></div>
      <div><label for="sampler">Sampler</label>
        <select id="sampler" name="sampler">
        <?cs each:m = Gen.Samplers ?><option<?cs if:(Form.sampler && Form.sampler == m) || (!Form.sampler && m == Gen.Default.sampler) ?> selected<?cs /if ?>><?cs var:m ?></option><?cs /each ?>
        </select>
        <?cs if:Form.Errors.sampler ?><p class="field-error"><?cs var:Form.Errors.sampler ?></p><?cs /if ?></div>
      <?cs def:num(name, label, min, max, step) ?>
      <div><label for="<?cs var:name ?>"><?cs var:label ?></label>
        <input id="<?cs var:name ?>" name="<?cs var:name ?>" type="number" min="<?cs var:min ?>" max="<?cs var:max ?>" step="<?cs var:step ?>" value="<?cs var:Form[name] ?>" placeholder="<?cs var:Gen.Default[name] ?>">
        <?cs if:Form.Errors[name] ?><p class="field-error"><?cs var:Form.Errors[name] ?></p><?cs /if ?></div>
      <?cs /def ?>
      <?cs call:num("width", "Width", Gen.Limit.side_min, Gen.Limit.side_max, Gen.Limit.side_step) ?>
      <?cs call:num("height", "Height", Gen.Limit.side_min, Gen.Limit.side_max, Gen.Limit.side_step) ?>
      <?cs call:num("steps", "Steps", 1, Gen.Limit.steps_max, 1) ?>
      <?cs call:num("cfg_scale", "CFG scale", 0, 30, "any") ?>
      <?cs call:num("seed", "Seed (empty: random)", 0, 4294967295, 1) ?>
      <?cs call:num("batch_count", "Images", 1, Gen.Limit.batch_max, 1) ?>
    </div>
    <label for="loras">LoRAs <span class="muted">(optional: name:weight, separated by commas; or &lt;lora:name:0.8&gt; in the prompt)</span></label>
    <input id="loras" name="loras" type="text" maxlength="1024" value="<?cs var:Form.loras ?>"<?cs if:subcount(Gen.Loras) > 0 ?> list="lora-names"<?cs /if ?>>
    <?cs if:subcount(Gen.Loras) > 0 ?><datalist id="lora-names"><?cs each:m = Gen.Loras ?><option value="<?cs var:m ?>:1"><?cs /each ?></datalist>
    <p class="muted">Available: <?cs each:m = Gen.Loras ?><?cs var:m ?><?cs if:!last(m) ?>, <?cs /if ?><?cs /each ?></p><?cs /if ?>
    <?cs if:Form.Errors.loras ?><p class="field-error"><?cs var:Form.Errors.loras ?></p><?cs /if ?>
    <?cs include:"generate_inputs.cs" ?>
    <label for="webhook_url">Webhook URL <span class="muted">(optional: told when the job ends)</span></label>
    <input id="webhook_url" name="webhook_url" type="url" maxlength="2048" value="<?cs var:Form.webhook_url ?>">
    <?cs if:Form.Errors.webhook_url ?><p class="field-error"><?cs var:Form.Errors.webhook_url ?></p><?cs /if ?>
    <button type="submit">Generate</button>
  </form>
  <?cs if:subcount(Gen.Examples) > 0 ?>
  <h2>Prompts <?cs var:Gen.Default.Model ?> knows</h2>
  <p class="muted"><?cs var:Gen.Default.Description ?></p>
  <ul class="examples">
    <?cs each:e = Gen.Examples ?><li><a href="/generate?prompt=<?cs var:url_escape(e) ?>"><?cs var:e ?></a></li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
</section>
