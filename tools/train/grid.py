"""grid.py - the README's kiln-micro showcase: renders the first N of the
held-out evaluation prompts (never seen in training) with the C engine at
the model's defaults, saves each image scaled up 2x (nearest neighbour, so
pixels stay crisp) as DIR/NN.png, and prints a Markdown table of images
and prompts with the judge's verdict.

  /usr/bin/python3 tools/train/grid.py --out docs/kiln-micro [--count 12]
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import evaluate  # noqa: E402
import scenes  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(evaluate.ROOT, "models",
                                                    "kiln-micro"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--cols", type=int, default=4)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        rep = evaluate.evaluate(a.model, d, a.count)
        failed = {f["file"] for f in rep["failures"]}
        items = scenes.generate(a.count, evaluate.EVAL_SEED, "test")
        cells = []
        for i, (_, caption) in enumerate(items):
            img = scenes.read_png(os.path.join(d, "%03d.png" % i))
            big = img.repeat(2, axis=0).repeat(2, axis=1)
            name = "%02d.png" % i
            scenes.write_png(os.path.join(a.out, name), big)
            mark = "" if "%03d.png" % i not in failed else " ✗"
            cells.append('<img src="%s" width="128" alt=""><br>%s%s' %
                         (os.path.join(a.out, name), caption, mark))
    print("|" + " |" * a.cols)
    print("|" + "---|" * a.cols)
    for r in range(0, len(cells), a.cols):
        row = cells[r:r + a.cols] + [""] * (a.cols - len(cells[r:]))
        print("| " + " | ".join(row[:a.cols]) + " |")


if __name__ == "__main__":
    main()
