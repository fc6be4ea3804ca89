<?cs # error.cs - every portal error page. ?>
<section class="error-page">
  <h1><?cs var:Error.Status ?> <?cs var:Error.Reason ?></h1>
  <p><?cs var:Error.Message ?></p>
  <p><a href="/"><?cs var:_("Back to the front page") ?></a></p>
</section>
