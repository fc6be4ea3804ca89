<?cs # project_shot.cs - one shot: its manifest versions, newest first, each with its render; a new version; rendering one; comparing two. ?>
<?cs with:p = Project.Info.0 ?>
<section class="shot">
  <h1><?cs var:Shot.Name ?></h1>
  <p><a href="/projects/<?cs var:p.Id ?>"><?cs var:p.Name ?></a> · <?cs var:_("Your access:") ?> <strong><?cs var:_(Project.Access) ?></strong></p>
  <?cs if:Render.Error ?><div class="notice error" role="alert" id="render-error"><p><?cs var:Render.Error ?></p><?cs if:subcount(Render.Errors) > 0 ?><ul><?cs each:e = Render.Errors ?><li><code><?cs var:e.Field ?></code>: <?cs var:e.Message ?></li><?cs /each ?></ul><?cs /if ?></div><?cs /if ?>
  <?cs if:Shot.Count > 1 ?>
  <form method="get" action="/projects/<?cs var:p.Id ?>/shots/<?cs var:Shot.Name ?>/diff" class="inline" id="compare">
    <label><?cs var:_("Compare version") ?> <select name="a"><?cs each:v = Shot.Versions ?><option value="<?cs var:v.Version ?>"<?cs if:name(v) == 1 ?> selected<?cs /if ?>><?cs var:subst1(_("v{n}"), v.Version) ?></option><?cs /each ?></select></label>
    <label><?cs var:_("with") ?> <select name="b"><?cs each:v = Shot.Versions ?><option value="<?cs var:v.Version ?>"<?cs if:name(v) == 0 ?> selected<?cs /if ?>><?cs var:subst1(_("v{n}"), v.Version) ?></option><?cs /each ?></select></label>
    <button type="submit" class="small"><?cs var:_("Compare") ?></button>
  </form>
  <?cs /if ?>
  <h2><?cs var:_("Versions") ?></h2>
  <?cs if:Shot.Count == 0 ?><p class="muted"><?cs var:_("No versions yet.") ?></p><?cs /if ?>
  <?cs each:v = Shot.Versions ?>
  <article class="version" id="v<?cs var:v.Version ?>">
    <h3><?cs var:subst1(_("v{n}"), v.Version) ?> <small class="muted"><?cs var:localtime(v.Created) ?> · <?cs var:v.Author ?><?cs if:v.Note ?> · <?cs var:v.Note ?><?cs /if ?></small></h3>
    <div class="version-body">
      <pre class="version-manifest"><?cs var:v.Manifest ?></pre>
      <div class="render">
        <?cs if:v.JobId ?><?cs if:v.Idx != "" ?><a href="/jobs/<?cs var:v.JobId ?>"><img src="/api/v1/images/<?cs var:v.JobId ?>-<?cs var:v.Idx ?>.thumb.png" alt="<?cs var:_("Render of this version") ?>" width="160" height="<?cs var:v.Height * 160 / v.Width ?>" loading="lazy"></a><?cs else ?><a href="/jobs/<?cs var:v.JobId ?>">#<?cs var:v.JobId ?></a> <?cs var:_(v.JobStatus) ?><?cs /if ?><?cs /if ?>
        <?cs if:Project.Access != "read" ?>
        <form method="post" action="/projects/<?cs var:p.Id ?>/shots/<?cs var:Shot.Name ?>/versions/<?cs var:v.Version ?>/render" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small"><?cs var:_("Render this version") ?></button>
        </form>
        <?cs /if ?>
      </div>
    </div>
  </article>
  <?cs /each ?>
  <?cs if:Project.Access != "read" ?>
  <h2><?cs var:_("New version") ?></h2>
  <p class="muted"><?cs var:_("Edit the JSON and save it as the next version; earlier versions stay as they were. A scene manifest renders as the generate page's manifest mode renders it; a version with a top-level prompt renders by its job fields (prompt, negative_prompt, model, width, height, steps, cfg_scale, sampler and seed).") ?></p>
  <?cs if:Form.Failed ?><p class="notice error" role="alert"><?cs var:_("No version was saved; see the fields marked below.") ?></p><?cs /if ?>
  <form method="post" action="/projects/<?cs var:p.Id ?>/shots/<?cs var:Shot.Name ?>/versions" class="stacked" id="new-version">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="manifest"><?cs var:_("Manifest (JSON)") ?></label>
    <textarea id="manifest" name="manifest" rows="14" class="mono" required><?cs var:Form.Manifest ?></textarea>
    <?cs if:Form.Errors.manifest ?><p class="field-error"><?cs var:Form.Errors.manifest ?></p><?cs /if ?>
    <label for="note"><?cs var:_("Note") ?></label>
    <input id="note" name="note" maxlength="500" value="<?cs var:Form.Note ?>">
    <?cs if:Form.Errors.note ?><p class="field-error"><?cs var:Form.Errors.note ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Save new version") ?></button>
  </form>
  <?cs /if ?>
</section>
<?cs /with ?>
