<?cs # explore_image.cs - one published image: the picture, its recipe,
who made it (or "anonymous"), Remix, and the report form. ?>
<?cs with:j = Image.0 ?>
<section class="job explore-image">
  <p><a href="/explore">&larr; <?cs var:_("Explore") ?></a></p>
  <h1><?cs var:_("Published image") ?></h1>
  <?cs if:j.ShowPrompt ?><p class="prompt"><q id="explore-prompt"><?cs var:j.Prompt ?></q></p><?cs else ?><p class="muted"><?cs var:_("The author did not publish the prompt.") ?></p><?cs /if ?>
  <figure>
    <img src="/api/v1/explore/<?cs var:j.Id ?>.png" alt="<?cs if:j.ShowPrompt ?><?cs var:j.Prompt ?><?cs else ?><?cs var:_("Published image") ?> <?cs var:j.Id ?><?cs /if ?>" width="<?cs var:j.Width ?>" height="<?cs var:j.Height ?>" class="result">
    <figcaption><?cs var:_("By") ?> <span id="explore-author"><?cs if:j.Author ?><?cs var:j.Author ?><?cs else ?><?cs var:_("anonymous") ?><?cs /if ?></span>, <span id="explore-published"><?cs var:localtime(j.Published) ?> <?cs var:TimeZone ?></span> · <a href="/api/v1/explore/<?cs var:j.Id ?>.png" download="kiln-explore-<?cs var:j.Id ?>.png"><?cs var:_("Download") ?></a></figcaption>
  </figure>
  <p><a class="button" id="remix" href="/generate?remix=<?cs var:j.Id ?>"><?cs var:_("Remix") ?></a> <span class="muted"><?cs var:_("opens the generate page with these settings.") ?></span></p>
  <table class="params">
    <?cs include:"params.cs" ?>
  </table>
  <?cs if:j.Mine ?>
  <p><?cs var:_("This is your image:") ?> <a href="/jobs/<?cs var:j.JobId ?>#image-<?cs var:j.Idx ?>"><?cs var:_("its job") ?></a><?cs var:_(", where you can unpublish it.") ?></p>
  <?cs elif:!User.Username ?>
  <p class="muted"><a href="/login?next=/explore/<?cs var:j.Id ?>"><?cs var:_("Sign in") ?></a> <?cs var:_("to report this image.") ?></p>
  <?cs elif:j.Reported ?>
  <p class="muted"><?cs var:_("You reported this image; a moderator will look at it.") ?></p>
  <?cs else ?>
  <details class="report">
    <summary><?cs var:_("Report this image") ?></summary>
    <form method="post" action="/explore/<?cs var:j.Id ?>/report" class="stacked">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <label for="reason"><?cs var:_("Reason") ?></label>
      <select id="reason" name="reason" required>
        <option value="spam"><?cs var:_("Spam or advertising") ?></option>
        <option value="sexual"><?cs var:_("Sexual content") ?></option>
        <option value="violence"><?cs var:_("Violence or gore") ?></option>
        <option value="hate"><?cs var:_("Hate or harassment") ?></option>
        <option value="illegal"><?cs var:_("Illegal content") ?></option>
        <option value="copyright"><?cs var:_("Copyright") ?></option>
        <option value="other"><?cs var:_("Something else") ?></option>
      </select>
      <label for="detail"><?cs var:_("Details (optional)") ?></label>
      <textarea id="detail" name="detail" maxlength="500" rows="3"></textarea>
      <button type="submit" class="danger"><?cs var:_("Send the report") ?></button>
    </form>
  </details>
  <?cs /if ?>
</section>
<?cs /with ?>
