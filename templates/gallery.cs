<?cs # gallery.cs - the user's images, newest first, as thumbnails. ?>
<section class="gallery">
  <h1><?cs var:_("Gallery") ?></h1>
  <p><a href="/generate"><?cs var:_("Generate an image") ?></a> · <a href="/jobs"><?cs var:_("Job history") ?></a> · <a href="/usage"><?cs var:_("Usage") ?></a></p>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No images are shown: a filter is not valid; see the fields marked below.") ?></p><?cs /if ?>
  <form method="get" action="/gallery" class="search">
    <label><?cs var:_("Prompt") ?> <input type="search" name="q" value="<?cs var:Filter.q ?>"></label>
    <?cs if:Form.Errors.q ?><p class="field-error"><?cs var:Form.Errors.q ?></p><?cs /if ?>
    <label><?cs var:_("Model") ?> <select name="model">
      <option value=""><?cs var:_("any") ?></option>
      <?cs each:m = Gallery.Models ?><option<?cs if:m.Name == Filter.model ?> selected<?cs /if ?>><?cs var:m.Name ?></option><?cs /each ?>
    </select></label>
    <?cs if:Form.Errors.model ?><p class="field-error"><?cs var:Form.Errors.model ?></p><?cs /if ?>
    <label><?cs var:_("From") ?> <input type="date" name="since" value="<?cs var:Filter.since ?>"></label>
    <?cs if:Form.Errors.since ?><p class="field-error"><?cs var:Form.Errors.since ?></p><?cs /if ?>
    <label><?cs var:_("to") ?> <input type="date" name="until" value="<?cs var:Filter.until ?>"></label>
    <?cs if:Form.Errors.until ?><p class="field-error"><?cs var:Form.Errors.until ?></p><?cs /if ?>
    <?cs if:Form.Errors.after ?><p class="field-error"><?cs var:Form.Errors.after ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Filter") ?></button>
  </form>
  <?cs if:Form.Failed ?>
  <?cs elif:Gallery.Count == 0 ?>
  <p class="muted"><?cs if:Filter.q || Filter.model || Filter.since || Filter.until ?><?cs var:_("No images match these filters.") ?><?cs elif:Filter.after ?><?cs var:_("No images after these.") ?><?cs else ?><?cs var:_("No images yet:") ?> <a href="/generate"><?cs var:_("make one") ?></a>.<?cs /if ?></p>
  <?cs else ?>
  <ul class="grid" id="gallery">
    <?cs each:i = Gallery.Images ?>
    <li>
      <a href="/jobs/<?cs var:i.Job ?>"><img src="/api/v1/images/<?cs var:i.Job ?>-<?cs var:i.Idx ?>.thumb.png" alt="<?cs var:i.Prompt ?>" title="<?cs var:i.Prompt ?>" width="160" height="<?cs var:i.Height * 160 / i.Width ?>" loading="lazy"></a>
      <span class="caption"><?cs var:localtime(i.Created) ?> · <?cs var:i.Model ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs if:Gallery.Next ?><p><a href="/gallery?after=<?cs var:url_escape(Gallery.Next) ?>&amp;q=<?cs var:url_escape(Filter.q) ?>&amp;model=<?cs var:url_escape(Filter.model) ?>&amp;since=<?cs var:url_escape(Filter.since) ?>&amp;until=<?cs var:url_escape(Filter.until) ?>" rel="next"><?cs var:_("Older images") ?></a></p><?cs /if ?>
  <?cs /if ?>
</section>
