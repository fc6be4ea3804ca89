<?cs # jobs.cs - the user's jobs, newest first. ?>
<section class="jobs">
  <h1><?cs var:_("Your jobs") ?></h1>
  <p><a href="/generate"><?cs var:_("Generate an image") ?></a> · <a href="/gallery"><?cs var:_("Gallery") ?></a></p>
  <?cs if:Form.Errors.before ?><p class="notice error" role="alert"><?cs var:Form.Errors.before ?></p>
  <?cs elif:Jobs.Count == 0 ?>
  <p class="muted"><?cs if:Jobs.Before ?><?cs var:_("No jobs before this one.") ?><?cs else ?><?cs var:_("No jobs.") ?><?cs /if ?></p>
  <?cs else ?>
  <table class="list">
    <thead><tr><th></th><th><?cs var:_("Job") ?></th><th><?cs var:_("Status") ?></th><th><?cs var:_("Prompt") ?></th><th><?cs var:_("Model") ?></th><th><?cs var:_("Size") ?></th><th><?cs var:_("Steps") ?></th><th><?cs var:_("Created") ?> (<?cs var:TimeZone ?>)</th></tr></thead>
    <tbody>
    <?cs each:j = Jobs.List ?>
    <tr>
      <td class="thumb"><?cs if:j.Thumb != "" ?><a href="/jobs/<?cs var:j.Id ?>"><img src="/api/v1/images/<?cs var:j.Id ?>-<?cs var:j.Thumb ?>.thumb.png" alt="" width="48" height="48"></a><?cs /if ?></td>
      <td><a href="/jobs/<?cs var:j.Id ?>"><?cs var:j.Id ?></a></td>
      <td><span class="status status-<?cs var:j.Status ?>"><?cs var:_(j.Status) ?></span></td>
      <td class="prompt"><?cs var:j.Prompt ?></td><td><?cs var:j.Model ?></td>
      <td><?cs var:j.Width ?>&times;<?cs var:j.Height ?><?cs if:j.Batch > 1 ?> &times;<?cs var:j.Batch ?><?cs /if ?></td>
      <td><?cs var:j.Steps ?></td><td class="time"><?cs var:localtime(j.Created) ?></td>
    </tr>
    <?cs set:last = j.Id ?>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs if:Jobs.Count == 25 ?><p><a href="/jobs?before=<?cs var:last ?>"><?cs var:_("Older jobs") ?></a></p><?cs /if ?>
  <?cs /if ?>
</section>
