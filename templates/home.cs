<?cs # home.cs - the front page. Signed in: a Generate button, the user's
queued and running jobs with their place in the queue, recent images,
credits. A visitor: what kiln is, log in / register. Both: whether
rendering is available (never how many daemons, where, or on what) and the
default model with its example prompts. ?>
<?cs def:example_prompts() ?>
  <?cs if:subcount(Home.Model.Examples) > 0 ?>
  <p><?cs if:User.Username ?><?cs var:_("Prompts it knows how to draw (one click fills the form):") ?><?cs else ?><?cs var:_("Prompts it knows how to draw:") ?><?cs /if ?></p>
  <ul class="examples">
    <?cs each:e = Home.Model.Examples ?><li><?cs if:User.Username ?><a href="/generate?prompt=<?cs var:url_escape(e) ?>"><?cs else ?><a href="/login?next=%2Fgenerate%3Fprompt%3D<?cs var:url_escape(url_escape(e)) ?>"><?cs /if ?><q><?cs var:e ?></q></a></li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
<?cs /def ?>
<?cs def:model_card() ?>
  <h2><?cs var:_("Default model") ?></h2>
  <?cs if:Home.Model.Missing ?>
  <p class="notice error"><?cs var:subst1(_("The default model {n} is not installed or its kiln.json is broken; the web server's error log says which."), Home.Model.Name) ?></p>
  <?cs else ?>
  <p class="model"><strong><?cs var:Home.Model.Name ?></strong><?cs if:Home.Model.Width ?> (<?cs var:Home.Model.Width ?>&times;<?cs var:Home.Model.Height ?>)<?cs /if ?>: <?cs var:Home.Model.Description ?></p>
  <?cs call:example_prompts() ?>
  <?cs /if ?>
<?cs /def ?>
<?cs def:rendering() ?>
  <?cs if:Home.Rendering == "1" ?>
  <p class="rendering"><span class="dot on" aria-hidden="true"></span> <?cs var:_("Rendering available right now.") ?></p>
  <?cs else ?>
  <p class="rendering muted"><span class="dot" aria-hidden="true"></span> <?cs var:_("Rendering unavailable right now: new jobs wait in the queue until it is back.") ?></p>
  <?cs /if ?>
<?cs /def ?>
<?cs if:Home.DbDown ?>
<section class="hero">
  <h1><?cs var:Site.Name ?></h1>
</section>
<p class="notice error"><?cs var:_("The database is unreachable right now. Pages that need it will be back when it is.") ?></p>
<?cs elif:User.Username ?>
<section class="home home-user">
  <div class="home-head">
    <h1><?cs var:subst1(_("Hello, {n}"), User.Name) ?></h1>
    <p><a class="button big" href="/generate"><?cs var:_("Generate an image") ?></a></p>
    <p class="muted"><strong id="home-credits"><?cs var:Home.Credits ?></strong> <?cs var:_("credits left") ?> · <a href="/usage"><?cs var:_("usage") ?></a></p>
    <?cs call:rendering() ?>
  </div>
  <?cs if:subcount(Home.Active) > 0 ?>
  <h2><?cs var:_("In progress") ?></h2>
  <ul class="home-active" id="home-active">
    <?cs each:j = Home.Active ?>
    <li>
      <a href="/jobs/<?cs var:j.Id ?>" class="prompt"><?cs var:j.Prompt ?></a>
      <span class="status status-<?cs var:j.Status ?>"><?cs var:_(j.Status) ?></span>
      <span class="where"><?cs if:j.Status == "queued" ?><?cs if:j.Position ?><?cs var:_("Waiting in the queue, position") ?> <span class="position"><?cs var:j.Position ?></span><?cs var:_(".") ?><?cs else ?><?cs var:_("Waiting in the queue.") ?><?cs /if ?><?cs elif:j.StepsTotal > 0 ?><?cs var:subst(_("Step {n} of {m}."), j.Step, j.StepsTotal) ?><?cs else ?><?cs var:_("Starting.") ?><?cs /if ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
  <h2><?cs var:_("Recent images") ?></h2>
  <?cs if:subcount(Home.Recent) > 0 ?>
  <ul class="grid home-recent" id="home-recent">
    <?cs each:i = Home.Recent ?>
    <li><a href="/jobs/<?cs var:i.Job ?>"><img src="/api/v1/images/<?cs var:i.Job ?>-<?cs var:i.Idx ?>.thumb.png" alt="<?cs var:i.Prompt ?>" title="<?cs var:i.Prompt ?>" width="160" height="<?cs var:i.Height * 160 / i.Width ?>" loading="lazy"></a></li>
    <?cs /each ?>
  </ul>
  <p><a href="/gallery"><?cs var:_("All your images") ?></a> · <a href="/jobs"><?cs var:_("Job history") ?></a></p>
  <?cs else ?>
  <p class="muted"><?cs var:_("No images yet:") ?> <a href="/generate"><?cs var:_("make your first one") ?></a><?cs var:_(", or start from one of the prompts below.") ?></p>
  <?cs /if ?>
  <?cs call:model_card() ?>
</section>
<?cs else ?>
<section class="hero home home-visitor">
  <h1><?cs var:Site.Name ?></h1>
  <?cs if:Home.Tagline ?><p class="tagline"><?cs var:Home.Tagline ?></p><?cs /if ?>
  <p class="lead"><?cs var:subst1(_("{n} is a self-hosted image generator: describe a picture in words and it is drawn on this site's own hardware, with no outside service involved."), Site.Name) ?></p>
  <ul class="features">
    <li><?cs var:_("Turn a text prompt into images, with a negative prompt, the seed and the size of your choosing.") ?></li>
    <li><?cs var:_("Start from an image of your own, or paint over part of one to redraw it.") ?></li>
    <li><?cs var:_("Keep your results in a private gallery, and share the ones you choose by link.") ?></li>
    <li><?cs var:_("Script it through an HTTP API.") ?></li>
  </ul>
  <p class="actions"><a class="button big" href="/login"><?cs var:_("Log in") ?></a> <a class="button big secondary" href="/register"><?cs var:_("Register") ?></a></p>
  <?cs call:rendering() ?>
</section>
<section class="home">
  <?cs call:model_card() ?>
</section>
<?cs /if ?>
