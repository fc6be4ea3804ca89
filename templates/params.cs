<?cs # params.cs - the rows of a job's recipe, for the table of the job
page and of a shared job (j: the job's node). ?>
    <?cs if:j.Negative ?><tr><th><?cs var:_("Negative prompt") ?></th><td><?cs var:j.Negative ?></td></tr><?cs /if ?>
    <tr><th><?cs var:_("Model") ?></th><td><?cs var:j.Model ?></td></tr>
    <?cs if:subcount(j.Loras) > 0 ?><tr><th><?cs var:_("LoRAs") ?></th><td><?cs each:l = j.Loras ?><?cs var:l.Name ?> &times;<?cs var:l.Weight ?><?cs if:l.UnetWeight != l.Weight ?> (UNet &times;<?cs var:l.UnetWeight ?>)<?cs /if ?><?cs if:!last(l) ?>, <?cs /if ?><?cs /each ?></td></tr><?cs /if ?>
    <tr><th><?cs var:_("Size") ?></th><td><?cs var:j.Width ?>&times;<?cs var:j.Height ?></td></tr>
    <tr><th><?cs var:_("Steps") ?></th><td><?cs var:j.Steps ?></td></tr>
    <tr><th><?cs var:_("CFG scale") ?></th><td><?cs var:j.Cfg ?></td></tr>
    <tr><th><?cs var:_("Sampler") ?></th><td><?cs var:j.Sampler ?></td></tr>
    <tr><th><?cs var:_("Seed") ?></th><td><?cs var:j.Seed ?></td></tr>
