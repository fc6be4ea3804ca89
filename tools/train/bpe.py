"""bpe.py - trains and applies a byte-level BPE vocabulary in the CLIP
format (vocab.json + merges.txt, as Hugging Face's CLIPTokenizer and
kiln's C tokenizer read it), written from the published algorithm
(OpenAI CLIP simple_tokenizer.py: lower-cased words, the byte->unicode
table, "</w>" marking a word's last symbol, merges applied by rank).

The trainer counts words in a caption corpus and repeatedly merges the most
frequent adjacent pair, ties broken by the pair's text, so the same corpus
always gives the same files."""

import json
import re

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# CLIP's pre-tokeniser, restricted to what Python's re supports: letters,
# single digits, runs of other non-space characters. The captions are
# ASCII; anything else falls back to bytes in the C tokenizer, which is the
# reference for inference.
WORD = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+")


def bytes_to_unicode():
    """CLIP's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + \
        list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()


def words(text):
    text = " ".join(text.lower().split())
    return ["".join(BYTE_ENC[b] for b in w.encode("utf-8"))
            for w in WORD.findall(text)]


def _symbols(word):
    return tuple(word[:-1]) + (word[-1] + "</w>",)


def _merge(sym, a, b):
    """sym with every adjacent (a, b) replaced by a + b, left to right."""
    out, i = [], 0
    while i < len(sym):
        if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(sym[i])
            i += 1
    return tuple(out)


def train(texts, max_merges=2000):
    """Returns the merges, in rank order, as (left, right) pairs."""
    freq = {}
    for t in texts:
        for w in words(t):
            freq[w] = freq.get(w, 0) + 1
    vocab = {_symbols(w): f for w, f in freq.items()}
    merges = []
    while len(merges) < max_merges:
        pairs = {}
        for sym, f in vocab.items():
            for a, b in zip(sym, sym[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + f
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        nv = {}
        for sym, f in vocab.items():
            m = _merge(sym, a, b)
            nv[m] = nv.get(m, 0) + f
        vocab = nv
    return merges


def vocabulary(merges):
    """CLIP's id order: the 256 byte symbols, the same with "</w>", one id
    per merge, then the two special tokens."""
    base = list(BYTE_ENC.values())
    toks = base + [b + "</w>" for b in base] + [a + b for a, b in merges] \
        + [BOS, EOS]
    return {t: i for i, t in enumerate(toks)}


def save(merges, vocab_path, merges_path):
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocabulary(merges), f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))


def load(vocab_path, merges_path):
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    merges = []
    with open(merges_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#version") or not line.strip():
                continue
            a, b = line.rstrip("\n").split(" ")
            merges.append((a, b))
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.rank = {m: i for i, m in enumerate(merges)}
        self.cache = {}
        self.bos, self.eos = vocab[BOS], vocab[EOS]

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        sym = list(_symbols(word))
        while len(sym) > 1:
            pairs = [(self.rank.get((a, b), 1 << 30), i)
                     for i, (a, b) in enumerate(zip(sym, sym[1:]))]
            r, _ = min(pairs)
            if r == 1 << 30:
                break
            a, b = next(p for p in zip(sym, sym[1:])
                        if self.rank.get(p) == r)
            sym = list(_merge(sym, a, b))
        ids = [self.vocab[s] for s in sym]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for w in words(text):
            ids.extend(self._bpe(w))
        return ids

    def window(self, text, length=77):
        """The ids the engine feeds the text encoder for a short prompt:
        BOS, tokens, EOS, padded with EOS (SD 1.x's pad token)."""
        ids = [self.bos] + self.encode(text)[:length - 2] + [self.eos]
        return ids + [self.eos] * (length - len(ids))
