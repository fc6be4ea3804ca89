<?cs # publish.cs - one image of the job page (i; its job j) on Explore:
published (its link and Unpublish), hidden by a moderator, or the small
form that publishes it. Included by job.cs. ?>
<div class="publish" id="publish-<?cs var:i.Idx ?>">
<?cs if:i.Hidden ?>
  <p class="muted"><?cs var:_("Hidden from Explore by a moderator.") ?></p>
<?cs elif:i.Published ?>
  <a href="/explore/<?cs var:i.PubId ?>"><?cs var:_("On Explore") ?></a>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/images/<?cs var:i.Idx ?>/unpublish" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <button type="submit" class="small secondary"><?cs var:_("Unpublish") ?></button>
  </form>
<?cs else ?>
  <form method="post" action="/jobs/<?cs var:j.Id ?>/images/<?cs var:i.Idx ?>/publish" class="inline">
    <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
    <label><input type="checkbox" name="hide_prompt" value="1"> <?cs var:_("without the prompt") ?></label>
    <label><input type="checkbox" name="anonymous" value="1"> <?cs var:_("without my name") ?></label>
    <button type="submit" class="small secondary" title="<?cs var:_("Anyone, signed in or not, can see it on Explore") ?>"><?cs var:_("Publish to Explore") ?></button>
  </form>
<?cs /if ?>
</div>
