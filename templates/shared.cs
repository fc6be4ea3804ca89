<?cs # shared.cs - a job its owner shared by link: the images and recipe. ?>
<?cs with:j = Shared.0 ?>
<section class="job shared">
  <h1>Shared image</h1>
  <p class="prompt"><q><?cs var:j.Prompt ?></q></p>
  <div class="images">
    <?cs each:i = Images ?>
    <figure>
      <img src="/api/v1/shared/<?cs var:Shared.Token ?>/<?cs var:i.Idx ?>.png" alt="Image <?cs var:i.Idx + 1 ?>: <?cs var:j.Prompt ?>" width="<?cs var:i.Width ?>" height="<?cs var:i.Height ?>" class="result">
      <figcaption>Seed <?cs var:i.Seed ?> · <a href="/api/v1/shared/<?cs var:Shared.Token ?>/<?cs var:i.Idx ?>.png" download="kiln-shared-<?cs var:i.Idx ?>.png">Download</a></figcaption>
    </figure>
    <?cs /each ?>
  </div>
  <table class="params">
    <?cs include:"params.cs" ?>
    <tr><th>Made (UTC)</th><td><?cs var:j.Finished ?></td></tr>
  </table>
</section>
<?cs /with ?>
