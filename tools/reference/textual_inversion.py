"""textual_inversion.py - textual-inversion embeddings the way AUTOMATIC1111
applies them (modules/textual_inversion/textual_inversion.py,
sd_hijack_clip.py, sd_hijack.py EmbeddingsWithFixes), which sd-scripts'
files and ComfyUI follow:

Files (safetensors only; the .pt form with string_to_param is a pickle):
  SD 1.x / 2.x: one tensor, usually "emb_params" [n, 768] (1024 for SD
    2.x); A1111 takes the single tensor whatever its name, a 1-D one as
    [1, D].
  SDXL: "clip_l" [n, 768] and "clip_g" [n, 1280], the same n.
Prompt: the embedding's name is tokenized like the prompt; wherever its
  token ids occur in the prompt's ids (longest name first at each
  position), they become n placeholder slots of id 0, and the fix
  (offset in the prompt tokens, name) is recorded. The window is then
  BOS + tokens + EOS + pad (offset + 1 in it).
Encoder input: the token-embedding lookup of those ids, with the rows
  offset + 1 ... offset + emb_len replaced by the vectors (A1111: emb_len
  = min(77 - offset - 1, n), which is n since its chunking never lets an
  embedding cross the 75-token boundary; here min(75 - offset, n), the
  same whenever it fits, and never over the EOS when the window cut it);
  position embeddings are added after that, as
  usual. SDXL does this for both encoders, CLIP-L with clip_l, bigG with
  clip_g. Because the slots hold id 0, the pooled output's argmax still
  finds the EOS (see clip.eos_position).
A1111 starts a new 75-token chunk rather than split an embedding; with
  one 77-token window this reference keeps the first 75 tokens and the
  vectors of the slots that fall inside them."""

import numpy as np
import torch


def parse(tensors):
    """name -> array of a TI file -> {"clip_l": [n, 768], "clip_g":
    [n, 1280]} (SDXL) or {"vectors": [n, D]} (SD 1.x / 2.x), float32
    torch tensors. Raises ValueError for anything else."""
    t = {k: torch.from_numpy(np.array(v, dtype=np.float32))
         for k, v in tensors.items()}
    if "clip_l" in t and "clip_g" in t:
        if t["clip_l"].shape[0] != t["clip_g"].shape[0]:
            raise ValueError("clip_l and clip_g differ in vector count")
        return {"clip_l": t["clip_l"], "clip_g": t["clip_g"]}
    if len(t) != 1:
        raise ValueError("embedding file has %d tensors" % len(t))
    v = next(iter(t.values()))
    return {"vectors": v[None] if v.dim() == 1 else v}


def load(path):
    import st_io
    return parse(st_io.read(path)[0])


def write_sd1(path, vectors, key="emb_params"):
    import st_io
    st_io.write(path, {key: np.asarray(vectors, dtype=np.float32)})


def write_sdxl(path, clip_l, clip_g):
    import st_io
    st_io.write(path, {"clip_g": np.asarray(clip_g, dtype=np.float32),
                       "clip_l": np.asarray(clip_l, dtype=np.float32)})


def expand(tokens, embeddings):
    """tokens: prompt ids without BOS / EOS; embeddings: {name:
    (name_ids, n_vectors)}. -> (ids with every occurrence of name_ids
    replaced by n zeros, [(offset, name)])."""
    by_first = {}
    for name, (ids, n) in embeddings.items():
        by_first.setdefault(ids[0], []).append((list(ids), name, n))
    for v in by_first.values():
        v.sort(key=lambda e: len(e[0]), reverse=True)
    out, fixes, i = [], [], 0
    while i < len(tokens):
        for ids, name, n in by_first.get(tokens[i], []):
            if list(tokens[i:i + len(ids)]) == ids:
                fixes.append((len(out), name))
                out += [0] * n
                i += len(ids)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out, fixes


def window(tokens, fixes, pad, length=77, bos=49406, eos=49407):
    """BOS + tokens[:length - 2] + EOS + pad; fixes whose offset falls
    outside are dropped."""
    keep = length - 2
    t = list(tokens)[:keep]
    ids = [bos] + t + [eos] + [pad] * (keep - len(t))
    return ids, [(o, n) for o, n in fixes if o < keep]


def embed(tok_weight, ids, fixes, vectors, dtype=torch.float64):
    """The token-embedding input [B, L, D] of clip.hidden_states(embeds=):
    tok_weight[ids], then for each row's fixes (offset, name) the rows
    offset + 1 ... offset + min(L - 2 - offset, n) replaced by
    vectors[name] (see the module docstring). ids [B, L]; fixes: one list
    per row."""
    x = tok_weight.to(dtype)[ids.long()].clone()
    L = ids.shape[1]
    for b, row in enumerate(fixes):
        for offset, name in row:
            v = vectors[name].to(dtype)
            n = min(L - 2 - offset, v.shape[0])
            x[b, offset + 1:offset + 1 + n] = v[:n]
    return x
