<?cs # project_diff.cs - two versions of a shot: the fields changed (jsondiff.h), and their renders side by side. ?>
<?cs with:p = Project.Info.0 ?>
<section class="shot-diff">
  <h1><?cs var:Shot.Name ?>: <?cs var:subst1(_("v{n}"), Diff.A.0.Version) ?> → <?cs var:subst1(_("v{n}"), Diff.B.0.Version) ?></h1>
  <p><a href="/projects/<?cs var:p.Id ?>"><?cs var:p.Name ?></a> · <a href="/projects/<?cs var:p.Id ?>/shots/<?cs var:Shot.Name ?>"><?cs var:_("All versions") ?></a></p>
  <form method="get" action="/projects/<?cs var:p.Id ?>/shots/<?cs var:Shot.Name ?>/diff" class="inline">
    <label><?cs var:_("Compare version") ?> <select name="a"><?cs each:v = Shot.Versions ?><option value="<?cs var:v.Version ?>"<?cs if:v.Version == Diff.A.0.Version ?> selected<?cs /if ?>><?cs var:subst1(_("v{n}"), v.Version) ?></option><?cs /each ?></select></label>
    <label><?cs var:_("with") ?> <select name="b"><?cs each:v = Shot.Versions ?><option value="<?cs var:v.Version ?>"<?cs if:v.Version == Diff.B.0.Version ?> selected<?cs /if ?>><?cs var:subst1(_("v{n}"), v.Version) ?></option><?cs /each ?></select></label>
    <button type="submit" class="small"><?cs var:_("Compare") ?></button>
  </form>
  <h2><?cs var:_("Fields changed") ?></h2>
  <?cs if:Diff.Count == 0 ?>
  <p class="muted" id="no-changes"><?cs var:_("The two versions are the same.") ?></p>
  <?cs else ?>
  <table class="list diff" id="changes">
    <thead><tr><th><?cs var:_("Field") ?></th><th><?cs var:_("Change") ?></th><th><?cs var:subst1(_("v{n}"), Diff.A.0.Version) ?></th><th><?cs var:subst1(_("v{n}"), Diff.B.0.Version) ?></th></tr></thead>
    <tbody>
    <?cs each:c = Diff.Changes ?>
    <tr class="<?cs var:c.Kind ?>"><td><code><?cs var:c.Path ?></code></td><td><?cs var:_(c.Kind) ?></td><td><code><?cs var:c.Before ?></code></td><td><code><?cs var:c.After ?></code></td></tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <h2><?cs var:_("Renders") ?></h2>
  <div class="side-by-side" id="renders">
    <?cs each:side = Diff ?><?cs if:name(side) == "A" || name(side) == "B" ?><?cs with:v = side.0 ?>
    <figure>
      <?cs if:v.JobId && v.Idx != "" ?><a href="/jobs/<?cs var:v.JobId ?>"><img src="/api/v1/images/<?cs var:v.JobId ?>-<?cs var:v.Idx ?>.png" alt="<?cs var:_("Render of this version") ?>" width="<?cs var:v.Width ?>" height="<?cs var:v.Height ?>"></a><?cs elif:v.JobId ?><a href="/jobs/<?cs var:v.JobId ?>">#<?cs var:v.JobId ?></a> <?cs var:_(v.JobStatus) ?><?cs else ?><p class="muted"><?cs var:_("Not rendered.") ?></p><?cs /if ?>
      <figcaption><?cs var:subst1(_("v{n}"), v.Version) ?></figcaption>
    </figure>
    <?cs /with ?><?cs /if ?><?cs /each ?>
  </div>
</section>
<?cs /with ?>
