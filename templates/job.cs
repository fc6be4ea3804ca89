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
  <?cs # The batch as a grid. Each image is a link to the full-size PNG;
  lightbox.js opens it in an overlay instead (its texts are the data-
  attributes here, so they are translated with the page). Each action is
  a link or a form (POST + CSRF), so all work without scripts. ?>
  <p class="zip-link"><a href="/jobs/<?cs var:j.Id ?>/images.zip" download="kiln-job-<?cs var:j.Id ?>.zip">Download all (ZIP)</a></p>
  <ul class="image-grid" id="job-images" data-lb-of="of" data-lb-copied="Copied to the clipboard." data-lb-copy-failed="The image could not be copied.">
    <?cs each:i = Images ?>
    <li class="cell" id="image-<?cs var:i.Idx ?>">
      <a class="lb-open" href="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" data-idx="<?cs var:i.Idx ?>" data-seed="<?cs var:i.Seed ?>" data-download="kiln-<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png"><img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" alt="Image <?cs var:i.Idx + 1 ?> of job <?cs var:j.Id ?>, seed <?cs var:i.Seed ?>" width="<?cs var:i.Width ?>" height="<?cs var:i.Height ?>" class="result"></a>
      <p class="caption">Seed <?cs var:i.Seed ?> · <?cs var:i.Width ?>&times;<?cs var:i.Height ?></p>
      <div class="image-actions">
        <a href="/api/v1/images/<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png" download="kiln-<?cs var:j.Id ?>-<?cs var:i.Idx ?>.png">Download</a>
        <?cs if:j.Kind != "upscale" ?><a href="/generate?from=<?cs var:j.Id ?>&amp;seed=<?cs var:i.Seed ?>">Use this seed</a><?cs /if ?>
        <a href="/generate?init=<?cs var:j.Id ?>-<?cs var:i.Idx ?>">Use as init image</a>
        <a href="/generate?init=<?cs var:j.Id ?>-<?cs var:i.Idx ?>&amp;mode=inpaint">Inpaint this</a>
        <?cs if:j.Kind != "upscale" ?><form method="post" action="/jobs/<?cs var:j.Id ?>/vary" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small secondary" title="A new job with these settings and a new random seed">Vary</button>
        </form><?cs /if ?>
        <form method="post" action="/jobs/<?cs var:j.Id ?>/images/<?cs var:i.Idx ?>/upscale" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small secondary" title="Upscale 2&times; with <?cs var:Upscaler ?>">Upscale 2&times;</button>
        </form>
      </div>
    </li>
    <?cs /each ?>
  </ul>
  <div class="lightbox" id="lightbox" role="dialog" aria-modal="true" aria-label="Image viewer" hidden>
    <div class="lb-bar">
      <span class="lb-count" id="lb-count" aria-live="polite"></span>
      <button type="button" class="small secondary" id="lb-prev" aria-keyshortcuts="ArrowLeft">&larr; Previous</button>
      <button type="button" class="small secondary" id="lb-next" aria-keyshortcuts="ArrowRight">Next &rarr;</button>
      <button type="button" class="small secondary" id="lb-zoom-out" aria-keyshortcuts="-">&minus;</button>
      <button type="button" class="small secondary" id="lb-zoom-in" aria-keyshortcuts="+">+</button>
      <a class="button small secondary" id="lb-download" href="#" download>Download</a>
      <button type="button" class="small secondary hidden" id="lb-copy">Copy image</button>
      <button type="button" class="small" id="lb-close" aria-keyshortcuts="Escape">Close</button>
    </div>
    <p class="lb-status" id="lb-status" role="status"></p>
    <div class="lb-stage" id="lb-stage"><img id="lb-img" alt="" src="data:," class="lb-img"></div>
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
  <p><a href="/generate?from=<?cs var:j.Id ?>">Use these settings again</a><?cs if:j.BatchId ?> · <a href="/batch/<?cs var:j.BatchId ?>">Its batch (row <?cs var:j.BatchRow ?>)</a><?cs /if ?></p>
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
