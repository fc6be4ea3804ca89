<?cs # batch.cs - one batch from a CSV file: its rows' jobs and their state. ?>
<?cs with:b = Batch.0 ?>
<section class="batch" id="batch" data-batch="<?cs var:b.Id ?>">
  <p><a href="/batch">&larr; <?cs var:_("New batch") ?></a></p>
  <h1><?cs var:_("Batch") ?> <?cs var:b.Id ?><?cs if:b.Name ?> <small><?cs var:b.Name ?></small><?cs /if ?></h1>
  <p><?cs var:_("Jobs:") ?> <?cs var:b.Jobs ?>; <?cs var:_("queued") ?> <?cs var:localtime(b.Created) ?> (<?cs var:TimeZone ?>).<?cs if:Batch.Active > 0 ?> <?cs var:_("Still queued or running:") ?> <?cs var:Batch.Active ?>; <?cs var:_("this page reloads itself.") ?><?cs /if ?></p>
  <p class="zip-link"><a href="/batch/<?cs var:b.Id ?>.zip" download="kiln-batch-<?cs var:b.Id ?>.zip"><?cs var:_("Download all (ZIP)") ?></a> <?cs var:_("(each row's images, with a manifest.json)") ?></p>
  <div class="table-wrap">
  <table class="list" id="batch-rows">
    <thead><tr><th><?cs var:_("Row") ?></th><th></th><th><?cs var:_("Job") ?></th><th><?cs var:_("Status") ?></th><th><?cs var:_("Prompt") ?></th><th><?cs var:_("Size") ?></th><th><?cs var:_("Seed") ?></th></tr></thead>
    <tbody>
    <?cs each:r = Rows ?>
    <tr>
      <td><?cs var:r.Row ?></td>
      <td class="thumb"><?cs if:r.Thumb != "" ?><a href="/jobs/<?cs var:r.Id ?>"><img src="/api/v1/images/<?cs var:r.Id ?>-<?cs var:r.Thumb ?>.thumb.png" alt="" width="48" height="48"></a><?cs /if ?></td>
      <td><a href="/jobs/<?cs var:r.Id ?>"><?cs var:r.Id ?></a></td>
      <td><span class="status status-<?cs var:r.Status ?>"><?cs var:_(r.Status) ?></span></td>
      <td class="prompt"><?cs var:r.Prompt ?></td>
      <td><?cs var:r.Width ?>&times;<?cs var:r.Height ?></td>
      <td><?cs var:r.Seed ?></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  </div>
</section>
<?cs /with ?>
