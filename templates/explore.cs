<?cs # explore.cs - the public gallery: published images, newest first,
searched by the words of their prompts. ?>
<section class="gallery explore">
  <h1><?cs var:_("Explore") ?></h1>
  <p><?cs var:_("Images people chose to publish.") ?> <?cs if:User.Username ?><a href="/jobs"><?cs var:_("Publish one of yours") ?></a> <?cs var:_("from its job page.") ?><?cs else ?><a href="/register"><?cs var:_("Register") ?></a> <?cs var:_("to make and publish your own.") ?><?cs /if ?></p>
  <form method="get" action="/explore" class="search" role="search">
    <label><?cs var:_("Search prompts") ?> <input type="search" name="q" maxlength="200" value="<?cs var:Explore.Q ?>"></label>
    <?cs if:Form.Errors.q ?><p class="field-error"><?cs var:Form.Errors.q ?></p><?cs /if ?>
    <?cs if:Form.Errors.before ?><p class="field-error"><?cs var:Form.Errors.before ?></p><?cs /if ?>
    <button type="submit"><?cs var:_("Search") ?></button>
  </form>
  <?cs if:Form.Failed ?>
  <?cs elif:Explore.Count == 0 ?>
  <p class="muted" id="explore-empty"><?cs if:Explore.Q ?><?cs var:_("No images match this search.") ?><?cs else ?><?cs var:_("No images.") ?><?cs /if ?></p>
  <?cs else ?>
  <ul class="grid" id="explore">
    <?cs each:e = Explore.List ?>
    <li>
      <a href="/explore/<?cs var:e.Id ?>"><img src="/api/v1/explore/<?cs var:e.Id ?>.thumb.png" alt="<?cs if:e.Prompt ?><?cs var:e.Prompt ?><?cs else ?><?cs var:_("Published image") ?> <?cs var:e.Id ?><?cs /if ?>" width="160" height="<?cs var:e.Height * 160 / e.Width ?>" loading="lazy"></a>
      <span class="caption"><?cs if:e.Author ?><?cs var:e.Author ?><?cs else ?><?cs var:_("anonymous") ?><?cs /if ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs if:Explore.Next ?><p><a href="/explore?before=<?cs var:url_escape(Explore.Next) ?>&amp;q=<?cs var:url_escape(Explore.Q) ?>" rel="next"><?cs var:_("Older images") ?></a></p><?cs /if ?>
  <?cs /if ?>
</section>
