<?cs # jobs.cs - the user's jobs, newest first. ?>
<section class="jobs">
  <h1>Your jobs</h1>
  <p><a href="/generate">Generate an image</a> · <a href="/gallery">Gallery</a></p>
  <?cs if:Form.Errors.before ?><p class="notice error" role="alert"><?cs var:Form.Errors.before ?></p>
  <?cs elif:Jobs.Count == 0 ?>
  <p class="muted">No jobs<?cs if:Jobs.Before ?> before this one<?cs /if ?>.</p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th></th><th>Job</th><th>Status</th><th>Prompt</th><th>Model</th><th>Size</th><th>Steps</th><th>Created (UTC)</th></tr></thead>
    <tbody>
    <?cs each:j = Jobs.List ?>
    <tr>
      <td class="thumb"><?cs if:j.Thumb != "" ?><a href="/jobs/<?cs var:j.Id ?>"><img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:j.Thumb ?>.thumb.png" alt="" width="48" height="48"></a><?cs /if ?></td>
      <td><a href="/jobs/<?cs var:j.Id ?>"><?cs var:j.Id ?></a></td>
      <td><span class="status status-<?cs var:j.Status ?>"><?cs var:j.Status ?></span></td>
      <td class="prompt"><?cs var:j.Prompt ?></td><td><?cs var:j.Model ?></td>
      <td><?cs var:j.Width ?>&times;<?cs var:j.Height ?><?cs if:j.Batch > 1 ?> &times;<?cs var:j.Batch ?><?cs /if ?></td>
      <td><?cs var:j.Steps ?></td><td><?cs var:j.Created ?></td>
    </tr>
    <?cs set:last = j.Id ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Jobs.Count == 25 ?><p><a href="/jobs?before=<?cs var:last ?>">Older jobs</a></p><?cs /if ?>
  <?cs /if ?>
</section>
