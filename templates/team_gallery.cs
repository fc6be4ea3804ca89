<?cs # team_gallery.cs - the images of a team's jobs, newest first. ?>
<section class="gallery">
  <h1><?cs var:_("Team gallery") ?>: <?cs var:Team.Info.0.Name ?></h1>
  <p><a href="/teams/<?cs var:Team.Info.0.Id ?>"><?cs var:_("The team") ?></a></p>
  <?cs if:Gallery.Count == 0 ?>
  <p class="muted"><?cs var:_("No images for this team yet.") ?></p>
  <?cs else ?>
  <ul class="grid" id="gallery">
    <?cs each:i = Gallery.Images ?>
    <li>
      <a href="/jobs/<?cs var:i.Job ?>"><img src="/api/v1/images/<?cs var:i.Job ?>-<?cs var:i.Idx ?>.thumb.png" alt="<?cs var:i.Prompt ?>" title="<?cs var:i.Prompt ?>" width="160" height="<?cs var:i.Height * 160 / i.Width ?>" loading="lazy"></a>
      <span class="caption"><?cs var:localtime(i.Created) ?> · <?cs var:i.Maker ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs if:Gallery.Next ?><p><a href="/teams/<?cs var:Team.Info.0.Id ?>/gallery?before=<?cs var:url_escape(Gallery.Next) ?>" rel="next"><?cs var:_("Older images") ?></a></p><?cs /if ?>
  <?cs /if ?>
</section>
