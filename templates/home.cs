<?cs # home.cs - the front page. Signed in: a Generate button, the user's
queued and running jobs with their place in the queue, recent images,
credits. A visitor: what kiln is, log in / register. Both: whether
rendering is available (never how many daemons, where, or on what) and the
default model with its example prompts. ?>
<?cs def:example_prompts() ?>
  <?cs if:subcount(Home.Model.Examples) > 0 ?>
  <p>Prompts it knows how to draw<?cs if:User.Username ?> (one click fills the form)<?cs /if ?>:</p>
  <ul class="examples">
    <?cs each:e = Home.Model.Examples ?><li><?cs if:User.Username ?><a href="/generate?prompt=<?cs var:url_escape(e) ?>"><?cs else ?><a href="/login?next=%2Fgenerate%3Fprompt%3D<?cs var:url_escape(url_escape(e)) ?>"><?cs /if ?><q><?cs var:e ?></q></a></li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
<?cs /def ?>
<?cs def:model_card() ?>
  <h2>Default model</h2>
  <?cs if:Home.Model.Missing ?>
  <p class="notice error">The default model <?cs var:Home.Model.Name ?> is not installed or its kiln.json is broken; the web server's error log says which.</p>
  <?cs else ?>
  <p class="model"><strong><?cs var:Home.Model.Name ?></strong><?cs if:Home.Model.Width ?> (<?cs var:Home.Model.Width ?>&times;<?cs var:Home.Model.Height ?>)<?cs /if ?>: <?cs var:Home.Model.Description ?></p>
  <?cs call:example_prompts() ?>
  <?cs /if ?>
<?cs /def ?>
<?cs def:rendering() ?>
  <?cs if:Home.Rendering == "1" ?>
  <p class="rendering"><span class="dot on" aria-hidden="true"></span> Rendering available right now.</p>
  <?cs else ?>
  <p class="rendering muted"><span class="dot" aria-hidden="true"></span> Rendering unavailable right now: new jobs wait in the queue until it is back.</p>
  <?cs /if ?>
<?cs /def ?>
<?cs if:Home.DbDown ?>
<section class="hero">
  <h1><?cs var:Site.Name ?></h1>
</section>
<p class="notice error">The database is unreachable right now. Pages that need it will be back when it is.</p>
<?cs elif:User.Username ?>
<section class="home home-user">
  <div class="home-head">
    <h1>Hello, <?cs var:User.Name ?></h1>
    <p><a class="button big" href="/generate">Generate an image</a></p>
    <p class="muted"><strong id="home-credits"><?cs var:Home.Credits ?></strong> credits left · <a href="/usage">usage</a></p>
    <?cs call:rendering() ?>
  </div>
  <?cs if:subcount(Home.Active) > 0 ?>
  <h2>In progress</h2>
  <ul class="home-active" id="home-active">
    <?cs each:j = Home.Active ?>
    <li>
      <a href="/jobs/<?cs var:j.Id ?>" class="prompt"><?cs var:j.Prompt ?></a>
      <span class="status status-<?cs var:j.Status ?>"><?cs var:j.Status ?></span>
      <span class="where"><?cs if:j.Status == "queued" ?>Waiting in the queue<?cs if:j.Position ?>, position <span class="position"><?cs var:j.Position ?></span><?cs /if ?>.<?cs elif:j.StepsTotal > 0 ?>Step <?cs var:j.Step ?> of <?cs var:j.StepsTotal ?>.<?cs else ?>Starting.<?cs /if ?></span>
    </li>
    <?cs /each ?>
  </ul>
  <?cs /if ?>
  <h2>Recent images</h2>
  <?cs if:subcount(Home.Recent) > 0 ?>
  <ul class="grid home-recent" id="home-recent">
    <?cs each:i = Home.Recent ?>
    <li><a href="/jobs/<?cs var:i.Job ?>"><img src="/api/v1/images/<?cs var:i.Job ?>-<?cs var:i.Idx ?>.thumb.png" alt="<?cs var:i.Prompt ?>" title="<?cs var:i.Prompt ?>" width="160" height="<?cs var:i.Height * 160 / i.Width ?>" loading="lazy"></a></li>
    <?cs /each ?>
  </ul>
  <p><a href="/gallery">All your images</a> · <a href="/jobs">Job history</a></p>
  <?cs else ?>
  <p class="muted">No images yet: <a href="/generate">make your first one</a>, or start from one of the prompts below.</p>
  <?cs /if ?>
  <?cs call:model_card() ?>
</section>
<?cs else ?>
<section class="hero home home-visitor">
  <h1><?cs var:Site.Name ?></h1>
  <?cs if:Home.Tagline ?><p class="tagline"><?cs var:Home.Tagline ?></p><?cs /if ?>
  <p class="lead"><?cs var:Site.Name ?> is a self-hosted image generator: describe a picture in words and it is drawn on this site's own hardware, with no outside service involved.</p>
  <ul class="features">
    <li>Turn a text prompt into images, with a negative prompt, the seed and the size of your choosing.</li>
    <li>Start from an image of your own, or paint over part of one to redraw it.</li>
    <li>Keep your results in a private gallery, and share the ones you choose by link.</li>
    <li>Script it through an HTTP API.</li>
  </ul>
  <p class="actions"><a class="button big" href="/login">Log in</a> <a class="button big secondary" href="/register">Register</a></p>
  <?cs call:rendering() ?>
</section>
<section class="home">
  <?cs call:model_card() ?>
</section>
<?cs /if ?>
