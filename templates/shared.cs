<?cs # shared.cs - a job its owner shared by link: the images and recipe. ?>
<?cs with:j = Shared.0 ?>
<section class="job shared">
  <h1><?cs var:_("Shared image") ?></h1>
  <p class="prompt"><q><?cs var:j.Prompt ?></q></p>
  <p class="share-link"><?cs var:_("Link") ?> <code id="share-url"><?cs var:Site.BaseUrl ?>/s/<?cs var:Shared.Token ?></code> <button type="button" class="copy small" data-copy="share-url" data-done="<?cs var:_("Copied") ?>" hidden><?cs var:_("Copy") ?></button></p>
  <div class="images">
    <?cs each:i = Images ?>
    <figure>
      <img src="/api/v1/shared/<?cs var:Shared.Token ?>/<?cs var:i.Idx ?>.png" alt="<?cs var:_("Image") ?> <?cs var:i.Idx + 1 ?>: <?cs var:j.Prompt ?>" width="<?cs var:i.Width ?>" height="<?cs var:i.Height ?>" class="result">
      <figcaption><?cs var:_("Seed") ?> <?cs var:i.Seed ?> · <a href="/api/v1/shared/<?cs var:Shared.Token ?>/<?cs var:i.Idx ?>.png" download="kiln-shared-<?cs var:i.Idx ?>.png"><?cs var:_("Download") ?></a><?cs if:j.HasMaster ?><br><?cs set:FmtUrl = "/api/v1/shared/" + Shared.Token + "/" + i.Idx + ".png" ?><?cs include:"image_formats.cs" ?><?cs /if ?></figcaption>
    </figure>
    <?cs /each ?>
  </div>
  <table class="params">
    <?cs include:"params.cs" ?>
    <tr><th><?cs var:_("Made") ?> (<?cs var:TimeZone ?>)</th><td><?cs var:localtime(j.Finished) ?></td></tr>
  </table>
</section>
<?cs /with ?>
