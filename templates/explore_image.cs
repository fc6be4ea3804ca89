<?cs # explore_image.cs - one published image: the picture, its recipe,
who made it (or "anonymous"), Remix, and the report form. ?>
<?cs with:j = Image.0 ?>
<section class="job explore-image">
  <p><a href="/explore">&larr; Explore</a></p>
  <h1>Published image</h1>
  <?cs if:j.ShowPrompt ?><p class="prompt"><q id="explore-prompt"><?cs var:j.Prompt ?></q></p><?cs else ?><p class="muted">The author did not publish the prompt.</p><?cs /if ?>
  <figure>
    <img src="/api/v1/explore/<?cs var:j.Id ?>.png" alt="<?cs if:j.ShowPrompt ?><?cs var:j.Prompt ?><?cs else ?>Published image <?cs var:j.Id ?><?cs /if ?>" width="<?cs var:j.Width ?>" height="<?cs var:j.Height ?>" class="result">
    <figcaption>By <span id="explore-author"><?cs if:j.Author ?><?cs var:j.Author ?><?cs else ?>anonymous<?cs /if ?></span>, <?cs var:j.Published ?> · <a href="/api/v1/explore/<?cs var:j.Id ?>.png" download="kiln-explore-<?cs var:j.Id ?>.png">Download</a></figcaption>
  </figure>
  <p><a class="button" id="remix" href="/generate?remix=<?cs var:j.Id ?>">Remix</a> <span class="muted">opens the generate page with these settings.</span></p>
  <table class="params">
    <?cs include:"params.cs" ?>
  </table>
  <?cs if:j.Mine ?>
  <p>This is your image: <a href="/jobs/<?cs var:j.JobId ?>#image-<?cs var:j.Idx ?>">its job</a>, where you can unpublish it.</p>
  <?cs elif:!User.Username ?>
  <p class="muted"><a href="/login?next=/explore/<?cs var:j.Id ?>">Sign in</a> to report this image.</p>
  <?cs elif:j.Reported ?>
  <p class="muted">You reported this image; a moderator will look at it.</p>
  <?cs else ?>
  <details class="report">
    <summary>Report this image</summary>
    <form method="post" action="/explore/<?cs var:j.Id ?>/report" class="stacked">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <label for="reason">Reason</label>
      <select id="reason" name="reason" required>
        <option value="spam">Spam or advertising</option>
        <option value="sexual">Sexual content</option>
        <option value="violence">Violence or gore</option>
        <option value="hate">Hate or harassment</option>
        <option value="illegal">Illegal content</option>
        <option value="copyright">Copyright</option>
        <option value="other">Something else</option>
      </select>
      <label for="detail">Details (optional)</label>
      <textarea id="detail" name="detail" maxlength="500" rows="3"></textarea>
      <button type="submit" class="danger">Send the report</button>
    </form>
  </details>
  <?cs /if ?>
</section>
<?cs /with ?>
