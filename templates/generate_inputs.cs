<?cs # generate_inputs.cs - the generate form's image inputs (img2img,
mask, outpainting, ControlNet), included inside its <form>. Works
without scripts (file inputs, checkboxes, a "Preview edges" button);
static/inputs.js adds drop, paste, thumbnails, the mask painter and the
live edge preview, its messages taken from the data- attributes here. ?>
<?cs def:gi_error(name) ?><?cs if:Form.Errors[name] ?><p class="field-error" id="<?cs var:name ?>-error"><?cs var:Form.Errors[name] ?></p><?cs /if ?><?cs /def ?>
<fieldset class="gen-inputs" id="gen-inputs"
  data-max-bytes="<?cs var:Inputs.MaxBytes ?>"
  data-inpaint="<?cs var:Inputs.Inpaint ?>"
  data-msg-too-large="<?cs var:subst1(_("is larger than the limit of {n} MB"), Inputs.MaxMB) ?>"
  data-msg-not-image="<?cs var:_("is not a PNG or JPEG image") ?>"
  data-msg-preview-failed="<?cs var:_("The edge preview could not be made.") ?>"
  data-msg-no-init="<?cs var:_("Choose an init image first: the mask is painted over it.") ?>">
  <legend><?cs var:_("Image inputs") ?> <span class="muted"><?cs var:_("(optional)") ?></span></legend>

  <div class="gi-drop" id="gi-init-drop" data-input="init_image">
    <label for="init_image"><?cs var:_("Init image") ?> <span class="muted"><?cs var:_("(img2img: a PNG or JPEG to start from)") ?></span></label>
    <input id="init_image" name="init_image" type="file" accept="image/png,image/jpeg">
    <p class="muted gi-hint" hidden><?cs var:_("Or drop an image here, or paste one (Ctrl+V).") ?></p>
    <img id="gi-init-thumb" class="gi-thumb" alt="<?cs var:_("The init image") ?>"<?cs if:Inputs.InitUrl ?> src="<?cs var:Inputs.InitUrl ?>"<?cs else ?> hidden<?cs /if ?>>
  </div>
  <?cs if:Inputs.InitFrom ?><input type="hidden" id="init_from" name="init_from" value="<?cs var:Inputs.InitFrom ?>">
  <p class="muted" id="gi-init-from-note"><?cs var:subst1(_("Starting from image {n} of your jobs; choose a file to start from another."), Inputs.InitFrom) ?></p><?cs /if ?>
  <?cs call:gi_error("init_image") ?>
  <label for="denoising_strength"><?cs var:_("Denoising strength") ?> <span class="muted"><?cs var:_("(with an init image: 0 keeps it, 1 replaces it)") ?></span></label>
  <input id="denoising_strength" name="denoising_strength" type="number" min="0" max="1" step="any" value="<?cs var:Form.denoising_strength ?>" placeholder="0.75">
  <?cs call:gi_error("denoising_strength") ?>

  <details class="gi-section" id="gi-inpaint"<?cs if:Inputs.Inpaint || Form.Errors.mask || Form.Errors.mask_blur || Form.Errors.inpainting_fill ?> open<?cs /if ?>>
    <summary><?cs var:_("Inpainting: repaint part of the init image") ?></summary>
    <div id="gi-mask-editor" class="gi-mask-editor" hidden>
      <p class="muted"><?cs var:_("Paint over what should be repainted.") ?></p>
      <div class="gi-canvas-wrap" id="gi-canvas-wrap">
        <img id="gi-mask-base" class="gi-mask-base" alt="<?cs var:_("The init image under the mask") ?>">
        <canvas id="gi-mask-canvas" class="gi-mask-canvas" width="8" height="8"></canvas>
      </div>
      <div class="gi-tools">
        <label for="gi-brush"><?cs var:_("Brush size") ?></label>
        <input type="range" id="gi-brush" min="2" max="160" value="32">
        <button type="button" class="small" id="gi-paint" aria-pressed="true"><?cs var:_("Paint") ?></button>
        <button type="button" class="small" id="gi-erase" aria-pressed="false"><?cs var:_("Eraser") ?></button>
        <button type="button" class="small" id="gi-invert"><?cs var:_("Invert") ?></button>
        <button type="button" class="small" id="gi-clear"><?cs var:_("Clear") ?></button>
      </div>
    </div>
    <p class="muted gi-no-init" id="gi-no-init" hidden><?cs var:_("Choose an init image first: the mask is painted over it.") ?></p>
    <label for="mask"><?cs var:_("Mask") ?> <span class="muted"><?cs var:_("(a PNG the size of the init image: white is repainted, black kept)") ?></span></label>
    <input id="mask" name="mask" type="file" accept="image/png,image/jpeg">
    <?cs call:gi_error("mask") ?>
    <details class="gi-options">
      <summary><?cs var:_("Mask options") ?></summary>
      <div class="grid">
        <div><label for="mask_blur"><?cs var:_("Mask blur") ?> <span class="muted"><?cs var:_("(pixels)") ?></span></label>
          <input id="mask_blur" name="mask_blur" type="number" min="0" max="64" step="1" value="<?cs var:Form.mask_blur ?>" placeholder="4">
          <?cs call:gi_error("mask_blur") ?></div>
        <div><label for="inpainting_fill"><?cs var:_("Masked area starts from") ?></label>
          <select id="inpainting_fill" name="inpainting_fill">
            <option value=""<?cs if:!Form.inpainting_fill ?> selected<?cs /if ?>><?cs var:_("Default") ?></option>
            <option value="0"<?cs if:Form.inpainting_fill == "0" ?> selected<?cs /if ?>><?cs var:_("Fill (blurred colours)") ?></option>
            <option value="1"<?cs if:Form.inpainting_fill == "1" ?> selected<?cs /if ?>><?cs var:_("The original") ?></option>
            <option value="2"<?cs if:Form.inpainting_fill == "2" ?> selected<?cs /if ?>><?cs var:_("Latent noise") ?></option>
            <option value="3"<?cs if:Form.inpainting_fill == "3" ?> selected<?cs /if ?>><?cs var:_("Latent nothing") ?></option>
          </select>
          <?cs call:gi_error("inpainting_fill") ?></div>
        <div><label for="inpaint_full_res_padding"><?cs var:_("Padding") ?> <span class="muted"><?cs var:_("(only masked)") ?></span></label>
          <input id="inpaint_full_res_padding" name="inpaint_full_res_padding" type="number" min="0" max="256" step="1" value="<?cs var:Form.inpaint_full_res_padding ?>" placeholder="32">
          <?cs call:gi_error("inpaint_full_res_padding") ?></div>
      </div>
      <label class="gi-check"><input type="checkbox" id="inpainting_mask_invert" name="inpainting_mask_invert" value="1"<?cs if:Form.inpainting_mask_invert == "1" ?> checked<?cs /if ?>> <?cs var:_("Repaint what is not masked (invert)") ?></label>
      <?cs call:gi_error("inpainting_mask_invert") ?>
      <label class="gi-check"><input type="checkbox" id="inpaint_full_res" name="inpaint_full_res" value="1"<?cs if:Form.inpaint_full_res == "1" ?> checked<?cs /if ?>> <?cs var:_("Only the masked area, at full resolution") ?></label>
      <?cs call:gi_error("inpaint_full_res") ?>
    </details>
  </details>

  <details class="gi-section" id="gi-outpaint"<?cs if:subcount(Form.outpaint_side) > 0 || Form.Errors.outpaint || Form.Errors.outpaint_px ?> open<?cs /if ?>>
    <summary><?cs var:_("Outpainting: extend the init image") ?></summary>
    <fieldset class="gi-sides">
      <legend><?cs var:_("Sides to extend") ?></legend>
      <label class="gi-check"><input type="checkbox" name="outpaint_side" value="left"<?cs if:Form.outpaint_side.left ?> checked<?cs /if ?>> <?cs var:_("Left") ?></label>
      <label class="gi-check"><input type="checkbox" name="outpaint_side" value="right"<?cs if:Form.outpaint_side.right ?> checked<?cs /if ?>> <?cs var:_("Right") ?></label>
      <label class="gi-check"><input type="checkbox" name="outpaint_side" value="up"<?cs if:Form.outpaint_side.up ?> checked<?cs /if ?>> <?cs var:_("Top") ?></label>
      <label class="gi-check"><input type="checkbox" name="outpaint_side" value="down"<?cs if:Form.outpaint_side.down ?> checked<?cs /if ?>> <?cs var:_("Bottom") ?></label>
    </fieldset>
    <label for="outpaint_px"><?cs var:_("Pixels added to each side chosen") ?></label>
    <input id="outpaint_px" name="outpaint_px" type="number" min="8" max="1024" step="8" value="<?cs var:Form.outpaint_px ?>" placeholder="64">
    <?cs call:gi_error("outpaint_px") ?>
    <?cs call:gi_error("outpaint") ?>
  </details>

  <details class="gi-section" id="gi-controlnet"<?cs if:Form.controlnet_model || Inputs.CannyPreview || Form.Errors.control_image || Form.Errors.controlnet_model || Form.Errors.controlnet_low_threshold || Form.Errors.controlnet_high_threshold ?> open<?cs /if ?>
    data-canny-url="/generate/canny">
    <summary><?cs var:_("ControlNet: follow the edges of an image") ?></summary>
    <?cs if:subcount(Gen.ControlNets) == 0 ?>
    <p class="muted"><?cs var:_("No ControlNet is installed on this site.") ?></p>
    <?cs else ?>
    <div class="gi-drop" id="gi-control-drop" data-input="control_image">
      <label for="control_image"><?cs var:_("Control image") ?></label>
      <input id="control_image" name="control_image" type="file" accept="image/png,image/jpeg">
      <p class="muted gi-hint" hidden><?cs var:_("Or drop an image here.") ?></p>
    </div>
    <?cs call:gi_error("control_image") ?>
    <div class="grid">
      <div><label for="controlnet_model">ControlNet</label>
        <select id="controlnet_model" name="controlnet_model">
          <option value=""><?cs var:_("None") ?></option>
          <?cs each:m = Gen.ControlNets ?><option<?cs if:Form.controlnet_model == m ?> selected<?cs /if ?>><?cs var:m ?></option><?cs /each ?>
        </select>
        <?cs call:gi_error("controlnet_model") ?></div>
      <div><label for="controlnet_weight"><?cs var:_("Weight") ?></label>
        <input id="controlnet_weight" name="controlnet_weight" type="number" min="0" max="2" step="any" value="<?cs var:Form.controlnet_weight ?>" placeholder="1">
        <?cs call:gi_error("controlnet_weight") ?></div>
      <div><label for="controlnet_guidance_start"><?cs var:_("Start") ?> <span class="muted"><?cs var:_("(of the steps)") ?></span></label>
        <input id="controlnet_guidance_start" name="controlnet_guidance_start" type="number" min="0" max="1" step="any" value="<?cs var:Form.controlnet_guidance_start ?>" placeholder="0">
        <?cs call:gi_error("controlnet_guidance_start") ?></div>
      <div><label for="controlnet_guidance_end"><?cs var:_("End") ?></label>
        <input id="controlnet_guidance_end" name="controlnet_guidance_end" type="number" min="0" max="1" step="any" value="<?cs var:Form.controlnet_guidance_end ?>" placeholder="1">
        <?cs call:gi_error("controlnet_guidance_end") ?></div>
      <div><label for="controlnet_preprocessor"><?cs var:_("Preprocessor") ?></label>
        <select id="controlnet_preprocessor" name="controlnet_preprocessor">
          <option value="canny"<?cs if:Form.controlnet_preprocessor != "none" ?> selected<?cs /if ?>><?cs var:_("Canny edges") ?></option>
          <option value="none"<?cs if:Form.controlnet_preprocessor == "none" ?> selected<?cs /if ?>><?cs var:_("None (the image is the map)") ?></option>
        </select>
        <?cs call:gi_error("controlnet_preprocessor") ?></div>
      <div><label for="controlnet_low_threshold"><?cs var:_("Low threshold") ?></label>
        <input id="controlnet_low_threshold" name="controlnet_low_threshold" type="number" min="0" max="255" step="any" value="<?cs var:Form.controlnet_low_threshold ?>" placeholder="100">
        <?cs call:gi_error("controlnet_low_threshold") ?></div>
      <div><label for="controlnet_high_threshold"><?cs var:_("High threshold") ?></label>
        <input id="controlnet_high_threshold" name="controlnet_high_threshold" type="number" min="0" max="255" step="any" value="<?cs var:Form.controlnet_high_threshold ?>" placeholder="200">
        <?cs call:gi_error("controlnet_high_threshold") ?></div>
    </div>
    <button type="submit" class="small" id="gi-canny-button" name="canny_preview" value="1" formnovalidate><?cs var:_("Preview edges") ?></button>
    <p class="field-error" id="gi-canny-error" hidden></p>
    <figure class="gi-canny" id="gi-canny"<?cs if:!Inputs.CannyPreview ?> hidden<?cs /if ?>>
      <img id="gi-canny-img" alt="<?cs var:_("The edges the ControlNet will follow") ?>"<?cs if:Inputs.CannyPreview ?> src="<?cs var:Inputs.CannyPreview ?>"<?cs /if ?>>
      <figcaption class="muted"><?cs var:_("The edges the ControlNet will follow") ?><?cs if:Inputs.CannyPreview ?> <?cs var:_("(choose the control image again to submit it: a browser does not keep a chosen file)") ?><?cs /if ?><?cs var:_(".") ?></figcaption>
    </figure>
    <?cs /if ?>
  </details>
</fieldset>
