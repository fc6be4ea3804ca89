<?cs # job.cs - one job: progress while it runs, then its images. ?>
<?cs with:j = Job.0 ?>
<section class="job" id="job" data-job="<?cs var:j.Id ?>" data-status="<?cs var:j.Status ?>">
  <p><a href="/jobs">&larr; <?cs var:_("Your jobs") ?></a></p>
  <h1><?cs var:subst1(_("Job {n}"), j.Id) ?> <span class="status status-<?cs var:j.Status ?>" id="job-status" data-s-queued="<?cs var:_("queued") ?>" data-s-running="<?cs var:_("running") ?>"><?cs var:_(j.Status) ?></span></h1>
  <p class="prompt"><q><?cs var:j.Prompt ?></q></p>
  <?cs if:j.TeamId ?><p class="team-of"><?cs var:_("For the team") ?> <a href="/teams/<?cs var:j.TeamId ?>"><?cs var:j.TeamName ?></a><?cs if:!j.Mine ?> · <?cs var:subst1(_("made by {n}"), j.Maker) ?><?cs /if ?></p><?cs /if ?>
  <?cs if:j.Status == "queued" || j.Status == "running" ?>
  <div class="progress">
    <progress id="job-progress" max="<?cs if:j.StepsTotal > 0 ?><?cs var:j.StepsTotal ?><?cs else ?><?cs var:j.Steps * j.Batch ?><?cs /if ?>" value="<?cs var:j.Step ?>"><?cs var:j.Step ?></progress>
    <p id="job-progress-text"<?cs # the script's texts, the same msgids as the studio's ?>
       data-t-queued="<?cs var:_("Waiting in the queue.") ?>" data-t-queued-at="<?cs var:_("Waiting in the queue (position {n}).") ?>"
       data-t-step="<?cs var:_("Step {n} of {m}.") ?>" data-t-step-eta="<?cs var:_("Step {n} of {m}, about {s} s left.") ?>"><?cs if:j.Status == "queued" ?><?cs if:j.Position ?><?cs var:subst1(_("Waiting in the queue (position {n})."), j.Position) ?><?cs else ?><?cs var:_("Waiting in the queue.") ?><?cs /if ?><?cs elif:j.Eta != "" ?><?cs var:subst3(_("Step {n} of {m}, about {s} s left."), j.Step, j.StepsTotal, j.Eta) ?><?cs else ?><?cs var:subst(_("Step {n} of {m}."), j.Step, j.StepsTotal) ?><?cs /if ?></p>
    <img id="job-preview" class="preview<?cs if:!j.HasPreview ?> hidden<?cs /if ?>" alt="<?cs var:_("Preview of the image being drawn") ?>" width="<?cs var:j.Width ?>" height="<?cs var:j.Height ?>"<?cs if:j.HasPreview ?> src="/api/v1/images/<?cs var:j.Id ?>-preview.png"<?cs /if ?>>
    <?cs if:j.Manage ?><?cs call:confirm("/jobs/" + j.Id + "/cancel", _("Cancel"), _("Cancel this job? Images not yet made will not be."), _("Yes, cancel it"), "") ?><?cs /if ?>
  </div>
  <?cs /if ?>
  <?cs if:j.Status == "failed" ?><p class="notice error"><?cs var:_("It failed:") ?> <?cs var:j.Error ?></p><?cs /if ?>
  <?cs if:j.Status == "canceled" ?><p class="notice"><?cs var:_("It was canceled.") ?></p><?cs /if ?>
  <?cs if:subcount(Images) > 0 ?>
  <?cs # The batch as a grid. Each image is a link to the full-size PNG;
  lightbox.js opens it in an overlay instead (its texts are the data-
  attributes here, so they are translated with the page). Each action is
  a link or a form (POST + CSRF), so all work without scripts. ?>
  <p class="zip-link"><a href="/jobs/<?cs var:j.Id ?>/images.zip" download="kiln-job-<?cs var:j.Id ?>.zip"><?cs var:_("Download all (ZIP)") ?></a></p>
  <ul class="image-grid" id="job-images" data-lb-of="<?cs var:_("of") ?>" data-lb-copied="<?cs var:_("Copied to the clipboard.") ?>" data-lb-copy-failed="<?cs var:_("The image could not be copied.") ?>">
    <?cs each:i = Images ?>
    <li class="cell" id="image-<?cs var:i.Idx ?>">
      <a class="lb-open" href="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" data-idx="<?cs var:i.Idx ?>" data-seed="<?cs var:i.Seed ?>" data-download="kiln-<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png"><img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" alt="<?cs var:subst3(_("Image {n} of job {m}, seed {s}"), i.Idx + 1, j.Id, i.Seed) ?>" width="<?cs var:i.Width ?>" height="<?cs var:i.Height ?>" class="result"></a>
      <p class="caption"><?cs var:_("Seed") ?> <?cs var:i.Seed ?> · <?cs var:i.Width ?>&times;<?cs var:i.Height ?></p>
      <div class="image-actions">
        <a href="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" download="kiln-<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png"><?cs var:_("Download") ?></a>
        <?cs if:j.HasMaster ?><?cs set:FmtUrl = "/api/v1/images/" + j.Id + "-" + i.Idx + ".png" ?><?cs include:"image_formats.cs" ?><?cs /if ?>
        <?cs # Making from it, sharing and publishing are its maker's: a
          team job's other members only see it. ?><?cs if:j.Mine ?>
        <?cs if:j.Kind != "upscale" ?><a href="/generate?from=<?cs var:j.Id ?>&amp;seed=<?cs var:i.Seed ?>"><?cs var:_("Use this seed") ?></a><?cs /if ?>
        <a href="/generate?init=<?cs var:j.Id ?>-<?cs var:i.Idx ?>"><?cs var:_("Use as init image") ?></a>
        <a href="/generate?init=<?cs var:j.Id ?>-<?cs var:i.Idx ?>&amp;mode=inpaint"><?cs var:_("Inpaint this") ?></a>
        <?cs if:j.Kind != "upscale" ?><form method="post" action="/jobs/<?cs var:j.Id ?>/vary" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small secondary" title="<?cs var:_("A new job with these settings and a new random seed") ?>"><?cs var:_("Vary") ?></button>
        </form><?cs /if ?>
        <form method="post" action="/jobs/<?cs var:j.Id ?>/images/<?cs var:i.Idx ?>/upscale" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small secondary" title="<?cs var:subst1(_("Upscale 2× with {n}"), Upscaler) ?>"><?cs var:_("Upscale 2×") ?></button>
        </form>
        <?cs if:j.Status == "succeeded" ?><?cs include:"publish.cs" ?><?cs /if ?>
        <?cs /if ?>
      </div>
    </li>
    <?cs /each ?>
  </ul>
  <div class="lightbox" id="lightbox" role="dialog" aria-modal="true" aria-label="<?cs var:_("Image viewer") ?>" hidden>
    <div class="lb-bar">
      <span class="lb-count" id="lb-count" aria-live="polite"></span>
      <button type="button" class="small secondary" id="lb-prev" aria-keyshortcuts="ArrowLeft">&larr; <?cs var:_("Previous") ?></button>
      <button type="button" class="small secondary" id="lb-next" aria-keyshortcuts="ArrowRight"><?cs var:_("Next") ?> &rarr;</button>
      <button type="button" class="small secondary" id="lb-zoom-out" aria-keyshortcuts="-">&minus;</button>
      <button type="button" class="small secondary" id="lb-zoom-in" aria-keyshortcuts="+">+</button>
      <a class="button small secondary" id="lb-download" href="#" download><?cs var:_("Download") ?></a>
      <button type="button" class="small secondary hidden" id="lb-copy"><?cs var:_("Copy image") ?></button>
      <button type="button" class="small" id="lb-close" aria-keyshortcuts="Escape"><?cs var:_("Close") ?></button>
    </div>
    <p class="lb-status" id="lb-status" role="status"></p>
    <div class="lb-stage" id="lb-stage"><img id="lb-img" alt="" src="data:," class="lb-img"></div>
  </div>
  <?cs /if ?>
  <h2><?cs var:_("Parameters") ?></h2>
  <table class="params">
    <?cs include:"params.cs" ?>
    <tr><th><?cs var:_("Images") ?></th><td><?cs var:j.Batch ?></td></tr>
    <?cs if:j.Manifest ?><tr><th><?cs var:_("Scene manifest") ?></th><td><pre class="manifest" id="job-manifest" translate="no"><?cs var:j.Manifest ?></pre></td></tr><?cs /if ?>
    <tr><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th><td><?cs var:localtime(j.Created) ?></td></tr>
    <?cs if:j.Started ?><tr><th><?cs var:_("Started") ?></th><td><?cs var:localtime(j.Started) ?><?cs if:j.Daemon ?> <?cs var:subst1(_("on {n}"), j.Daemon) ?><?cs /if ?></td></tr><?cs /if ?>
    <?cs if:j.Finished ?><tr><th><?cs var:_("Finished") ?></th><td><?cs var:localtime(j.Finished) ?><?cs if:j.RenderS ?> <?cs var:subst1(_("({n} s rendering)"), j.RenderS) ?><?cs /if ?></td></tr><?cs /if ?>
  </table>
  <p><?cs if:j.Mine ?><a href="/generate?from=<?cs var:j.Id ?>"><?cs var:_("Use these settings again") ?></a><?cs /if ?><?cs if:j.BatchId ?> · <a href="/batch/<?cs var:j.BatchId ?>"><?cs var:subst1(_("Its batch (row {n})"), j.BatchRow) ?></a><?cs /if ?></p>
  <?cs if:subcount(JobProjects) > 0 ?>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/project" class="inline" id="add-to-project">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <select name="project_id" aria-label="<?cs var:_("Project") ?>"><?cs each:pr = JobProjects ?><option value="<?cs var:pr.Id ?>"><?cs var:pr.Name ?></option><?cs /each ?></select>
    <button type="submit" class="small secondary"><?cs var:_("Add to project") ?></button>
  </form>
  <?cs /if ?>
  <?cs if:j.Status == "succeeded" && j.Mine ?>
  <h2 id="share"><?cs var:_("Share") ?></h2>
  <?cs if:j.Share ?>
  <p><?cs var:_("Anyone with this link sees the images and their settings (not your name):") ?></p>
  <p><input type="text" readonly class="share-link" id="share-link" value="<?cs var:Site.BaseUrl ?>/s/<?cs var:j.Share ?>" aria-label="<?cs var:_("Share link") ?>"> <a href="/s/<?cs var:j.Share ?>"><?cs var:_("Open") ?></a></p>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/unshare" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit" class="danger"><?cs var:_("Stop sharing") ?></button>
  </form>
  <?cs else ?>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/share" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit"><?cs var:_("Share by link") ?></button>
  </form>
  <?cs /if ?>
  <?cs /if ?>
  <?cs if:j.Status != "queued" && j.Status != "running" && j.Manage ?>
  <h2><?cs var:_("Delete") ?></h2>
  <?cs call:confirm("/jobs/" + j.Id + "/delete", _("Delete this job and its images"), subst1(_("Delete job {n} and its images for good? This cannot be undone."), j.Id), _("Yes, delete"), "") ?>
  <?cs /if ?>
</section>
<?cs /with ?>
