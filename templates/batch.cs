<?cs # batch.cs - one batch from a CSV file: its rows' jobs and their state. ?>
<?cs with:b = Batch.0 ?>
<section class="batch" id="batch" data-batch="<?cs var:b.Id ?>">
  <p><a href="/batch">&larr; New batch</a></p>
  <h1>Batch <?cs var:b.Id ?><?cs if:b.Name ?> <small><?cs var:b.Name ?></small><?cs /if ?></h1>
  <p><?cs var:b.Jobs ?> job(s), queued <?cs var:b.Created ?> UTC.<?cs if:Batch.Active > 0 ?> <?cs var:Batch.Active ?> still queued or running; this page reloads itself.<?cs /if ?></p>
  <p class="zip-link"><a href="/batch/<?cs var:b.Id ?>.zip" download="kiln-batch-<?cs var:b.Id ?>.zip">Download all (ZIP)</a> (each row's images, with a manifest.json)</p>
  <div class="table-wrap">
  <table class="list" id="batch-rows">
    <thead><tr><th>Row</th><th></th><th>Job</th><th>Status</th><th>Prompt</th><th>Size</th><th>Seed</th></tr></thead>
    <tbody>
    <?cs each:r = Rows ?>
    <tr>
      <td><?cs var:r.Row ?></td>
      <td class="thumb"><?cs if:r.Thumb != "" ?><a href="/jobs/<?cs var:r.Id ?>"><img src="/api/v1/images/<?cs var:r.Id ?>-<?cs var:r.Thumb ?>.thumb.png" alt="" width="48" height="48"></a><?cs /if ?></td>
      <td><a href="/jobs/<?cs var:r.Id ?>"><?cs var:r.Id ?></a></td>
      <td><span class="status status-<?cs var:r.Status ?>"><?cs var:r.Status ?></span></td>
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
