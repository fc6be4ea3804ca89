<?cs # job.cs - one job: progress while it runs, then its images. ?>
<?cs with:j = Job.0 ?>
<section class="job" id="job" data-job="<?cs var:j.Id ?>" data-status="<?cs var:j.Status ?>">
  <p><a href="/jobs">&larr; Your jobs</a></p>
  <h1>Job <?cs var:j.Id ?> <span class="status status-<?cs var:j.Status ?>" id="job-status"><?cs var:j.Status ?></span></h1>
  <p class="prompt"><q><?cs var:j.Prompt ?></q></p>
  <?cs if:j.Status == "queued" || j.Status == "running" ?>
  <div class="progress">
    <progress id="job-progress" max="<?cs if:j.StepsTotal > 0 ?><?cs var:j.StepsTotal ?><?cs else ?><?cs var:j.Steps * j.Batch ?><?cs /if ?>" value="<?cs var:j.Step ?>"><?cs var:j.Step ?></progress>
    <p id="job-progress-text"><?cs if:j.Status == "queued" ?>Waiting in the queue<?cs if:j.Position ?> (position <?cs var:j.Position ?>)<?cs /if ?>.<?cs else ?>Step <?cs var:j.Step ?> of <?cs var:j.StepsTotal ?><?cs if:j.Eta != "" ?>, about <?cs var:j.Eta ?> s left<?cs /if ?>.<?cs /if ?></p>
    <img id="job-preview" class="preview<?cs if:!j.HasPreview ?> hidden<?cs /if ?>" alt="Preview of the image being drawn" width="<?cs var:j.Width ?>" height="<?cs var:j.Height ?>"<?cs if:j.HasPreview ?> src="/api/v1/images/<?cs var:j.Id ?>-preview.png"<?cs /if ?>>
    <?cs call:confirm("/jobs/" + j.Id + "/cancel", "Cancel", "Cancel this job? Images not yet made will not be.", "Yes, cancel it", "") ?>
  </div>
  <?cs /if ?>
  <?cs if:j.Status == "failed" ?><p class="notice error">It failed: <?cs var:j.Error ?></p><?cs /if ?>
  <?cs if:j.Status == "canceled" ?><p class="notice">It was canceled.</p><?cs /if ?>
  <?cs if:subcount(Images) > 0 ?>
  <div class="images">
    <?cs each:i = Images ?>
    <figure>
      <img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" alt="Image <?cs var:i.Idx + 1 ?> of job <?cs var:j.Id ?>" width="<?cs var:i.Width ?>" height="<?cs var:i.Height ?>" class="result">
      <figcaption>Seed <?cs var:i.Seed ?> · <a href="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" download="kiln-<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png">Download</a></figcaption>
    </figure>
    <?cs /each ?>
  </div>
  <?cs /if ?>
  <h2>Parameters</h2>
  <table class="params">
    <?cs include:"params.cs" ?>
    <tr><th>Images</th><td><?cs var:j.Batch ?></td></tr>
    <tr><th>Created (UTC)</th><td><?cs var:j.Created ?></td></tr>
    <?cs if:j.Started ?><tr><th>Started</th><td><?cs var:j.Started ?><?cs if:j.Daemon ?> on <?cs var:j.Daemon ?><?cs /if ?></td></tr><?cs /if ?>
    <?cs if:j.Finished ?><tr><th>Finished</th><td><?cs var:j.Finished ?><?cs if:j.RenderS ?> (<?cs var:j.RenderS ?> s rendering)<?cs /if ?></td></tr><?cs /if ?>
  </table>
  <p><a href="/generate?from=<?cs var:j.Id ?>">Use these settings again</a></p>
  <?cs if:j.Status == "succeeded" ?>
  <h2 id="share">Share</h2>
  <?cs if:j.Share ?>
  <p>Anyone with this link sees the images and their settings (not your name):</p>
  <p><input type="text" readonly class="share-link" id="share-link" value="<?cs var:Site.BaseUrl ?>/s/<?cs var:j.Share ?>" aria-label="Share link"> <a href="/s/<?cs var:j.Share ?>">Open</a></p>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/unshare" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit" class="danger">Stop sharing</button>
  </form>
  <?cs else ?>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/share" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit">Share by link</button>
  </form>
  <?cs /if ?>
  <?cs /if ?>
  <?cs if:j.Status != "queued" && j.Status != "running" ?>
  <h2>Delete</h2>
  <?cs call:confirm("/jobs/" + j.Id + "/delete", "Delete this job and its images", "Delete job " + j.Id + " and its images for good? This cannot be undone.", "Yes, delete", "") ?>
  <?cs /if ?>
</section>
<?cs /with ?>
