<?cs # admin_reports.cs - moderation: open reports grouped per published
image with the actions on it, then the hidden images to restore. ?>
<section class="admin">
  <h1><?cs var:_("Reports") ?></h1>
  <h2><?cs var:_("Open reports") ?></h2>
  <?cs if:subcount(Reports.List) == 0 ?><p class="muted" id="reports-empty"><?cs var:_("No open reports.") ?></p><?cs else ?>
  <table class="list reports" id="reports">
    <thead><tr><th><?cs var:_("Image") ?></th><th><?cs var:_("Author") ?></th><th><?cs var:_("Reports") ?></th><th><?cs var:_("Reasons") ?></th><th><?cs var:_("Latest") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Actions") ?></th></tr></thead>
    <tbody>
    <?cs each:r = Reports.List ?>
    <tr id="report-<?cs var:r.Id ?>">
      <td class="prompt"><a href="/api/v1/moderation/images/<?cs var:r.Id ?>.png"><img src="/api/v1/moderation/images/<?cs var:r.Id ?>.thumb.png" alt="<?cs var:_("Reported image") ?> <?cs var:r.Id ?>" width="96" loading="lazy"></a><br><?cs if:r.Hidden ?><?cs var:_("hidden") ?><?cs elif:r.Published ?><a href="/explore/<?cs var:r.Id ?>"><?cs var:_("on Explore") ?></a><?cs else ?><?cs var:_("unpublished") ?><?cs /if ?><br><span class="muted"><?cs var:r.Prompt ?></span></td>
      <td><?cs var:r.Author ?><?cs if:r.AuthorRole != "user" ?> (<?cs var:r.AuthorRole ?>)<?cs /if ?><?cs if:r.AuthorDisabled ?> (<?cs var:_("banned") ?>)<?cs /if ?></td>
      <td><?cs var:r.Count ?></td>
      <td class="prompt"><?cs var:r.Reasons ?><?cs if:r.Details ?><br><span class="muted"><?cs var:r.Details ?></span><?cs /if ?></td>
      <td><?cs var:localtime(r.Latest) ?></td>
      <td>
        <?cs if:!r.Hidden ?><form method="post" action="/admin/reports/<?cs var:r.Id ?>/hide" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small"><?cs var:_("Hide") ?></button>
        </form><?cs /if ?>
        <form method="post" action="/admin/reports/<?cs var:r.Id ?>/dismiss" class="inline">
          <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
          <button type="submit" class="small secondary"><?cs var:_("Dismiss") ?></button>
        </form>
        <?cs if:!r.AuthorDisabled && (r.AuthorRole == "user" || (r.AuthorRole == "moderator" && User.IsAdmin)) ?><?cs call:confirm("/admin/reports/" + r.Id + "/ban", _("Ban the author"), _("Ban") + " " + r.Author + _("? The account is disabled, its sessions end and this image is hidden."), _("Yes, ban"), "") ?><?cs /if ?>
      </td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
  <h2><?cs var:_("Hidden images") ?></h2>
  <?cs if:subcount(Hidden.List) == 0 ?><p class="muted"><?cs var:_("No hidden images.") ?></p><?cs else ?>
  <table class="list hidden-images" id="hidden">
    <thead><tr><th><?cs var:_("Image") ?></th><th><?cs var:_("Author") ?></th><th><?cs var:_("Hidden") ?> (<?cs var:TimeZone ?>)</th><th><?cs var:_("Hidden by") ?></th><th></th></tr></thead>
    <tbody>
    <?cs each:h = Hidden.List ?>
    <tr>
      <td class="prompt"><img src="/api/v1/moderation/images/<?cs var:h.Id ?>.thumb.png" alt="<?cs var:_("Hidden image") ?> <?cs var:h.Id ?>" width="96" loading="lazy"><br><span class="muted"><?cs var:h.Prompt ?></span></td>
      <td><?cs var:h.Author ?></td><td><?cs var:localtime(h.HiddenAt) ?></td><td><?cs var:h.HiddenBy ?></td>
      <td><form method="post" action="/admin/reports/<?cs var:h.Id ?>/restore" class="inline">
        <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
        <button type="submit" class="small secondary"><?cs var:_("Restore") ?></button>
      </form></td>
    </tr>
    <?cs /each ?>
    </tbody>
  </table>
  <?cs /if ?>
</section>
