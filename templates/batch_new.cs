<?cs # batch_new.cs - a batch from a CSV file: one job per row. ?>
<section class="batch-new">
  <h1><?cs var:_("Batch from CSV") ?></h1>
  <p><?cs var:_("One job per row. The first row names the columns, with the names of the") ?> <a href="/generate"><?cs var:_("generate form") ?></a><?cs var:_("'s fields; an empty cell takes the default. Every row is checked before any job is queued, and the batch is queued whole or not at all: your credits and queue limits must cover all of its rows.") ?> <?cs var:_("Rows at most:") ?> <?cs var:Batch.RowsMax ?>.</p>
  <p><?cs var:_("Columns:") ?> <?cs each:c = Batch.Columns ?><code><?cs var:c ?></code><?cs if:!last(c) ?>, <?cs /if ?><?cs /each ?>. <code>loras</code> <?cs var:_("cells are written as in the form:") ?> <code>name:0.8, other:0.5</code>.</p>
  <?cs if:Form.Error ?><p class="notice error" role="alert" id="batch-error"><?cs var:Form.Error ?></p><?cs /if ?>
  <?cs if:subcount(Batch.Errors) > 0 ?>
  <ul class="errors" id="batch-errors">
    <?cs each:e = Batch.Errors ?><li><?cs var:e ?></li><?cs /each ?>
    <?cs if:Batch.ErrorsMore ?><li><?cs var:_("… and more:") ?> <?cs var:Batch.ErrorsMore ?>.</li><?cs /if ?>
  </ul>
  <?cs /if ?>
  <form method="post" action="/batch" enctype="multipart/form-data" class="stacked">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label for="batch-file"><?cs var:_("CSV file") ?></label>
    <input type="file" id="batch-file" name="file" accept=".csv,text/csv,text/plain">
    <label for="batch-csv"><?cs var:_("… or paste it") ?></label>
    <textarea id="batch-csv" name="csv" class="csv" rows="8" translate="no" placeholder="prompt,seed,steps&#10;a red fox,1,20"><?cs var:Form.csv ?></textarea>
    <details id="batch-sku" class="sku"<?cs if:Batch.Sku ?> open<?cs /if ?>>
      <summary><?cs var:_("From a SKU list: a scene manifest template") ?></summary>
      <p><?cs var:_("Each row fills the template's placeholders, {{column}}, with its values, and its manifest makes the row's job. Any column may be a placeholder; columns named as job fields (seed, steps...) also set them.") ?> <a href="/presets"><?cs var:_("Presets") ?></a></p>
      <label for="batch-manifest"><?cs var:_("Manifest template (JSON)") ?></label>
      <textarea id="batch-manifest" name="manifest" class="csv" rows="6" translate="no" placeholder="{&quot;subject&quot;: &quot;{{product}} in {{colour}}&quot;, &quot;materials&quot;: [&quot;{{material}}&quot;], &quot;style&quot;: &quot;e-commerce&quot;}"><?cs var:Form.manifest ?></textarea>
    </details>
    <button type="submit"><?cs var:_("Queue the batch") ?></button>
  </form>
</section>
