<?cs # generate_inputs.cs - the generate form's image inputs (img2img,
mask, outpainting, ControlNet), included inside its <form>. ?>
    <label for="init_image">Init image <span class="muted">(optional: PNG or JPEG to start from, img2img)</span></label>
    <input id="init_image" name="init_image" type="file" accept="image/png,image/jpeg">
    <?cs if:Form.Errors.init_image ?><p class="field-error"><?cs var:Form.Errors.init_image ?></p><?cs /if ?>
    <label for="denoising_strength">Denoising strength <span class="muted">(with an init image: 0 keeps it, 1 replaces it)</span></label>
    <input id="denoising_strength" name="denoising_strength" type="number" min="0" max="1" step="any" value="<?cs var:Form.denoising_strength ?>" placeholder="0.75">
    <?cs if:Form.Errors.denoising_strength ?><p class="field-error"><?cs var:Form.Errors.denoising_strength ?></p><?cs /if ?>
