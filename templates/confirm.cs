<?cs # confirm.cs - confirm(action, label, question, yes, cls): a destructive
action asked twice without scripts. The first button (a <details>
summary) only opens the question; the form inside posts. ?><?cs def:confirm(action, label, question, yes, cls) ?><details class="confirm<?cs if:cls ?> <?cs var:cls ?><?cs /if ?>">
  <summary><?cs var:label ?></summary>
  <div class="confirm-box" role="group">
    <p><?cs var:question ?></p>
    <form method="post" action="<?cs var:action ?>" class="inline">
      <input type="hidden" name="csrf" value="<?cs var:Csrf.Token ?>">
      <button type="submit" class="danger"><?cs var:yes ?></button>
    </form>
  </div>
</details><?cs /def ?>