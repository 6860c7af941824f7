"""Which list should tell a correctly spelt word from a typo (the typo rule in
src/search/spelling.rs): the embedded SCOWL en_US Hunspell dictionary, the embedding
model's WordPiece vocabulary (whole-word tokens), or either.

Correct words: every word of 4+ letters in the quality questions and the shipped data/.
Typos: one random edit (swap, deletion or substitution) of each. A good list recognises
the first and flags the second.

    pip install spylls
    python3 quality/typo_vocabulary.py [MODEL_DIR]   # default models/all-MiniLM-L6-v2
"""

import glob
import json
import random
import re
import sys
import tomllib
from pathlib import Path

from spylls.hunspell import Dictionary

ROOT = Path(__file__).resolve().parent.parent
model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models/all-MiniLM-L6-v2"

hunspell = Dictionary.from_files(str(ROOT / "assets/dictionary/en_US"))
tokenizer = json.loads((model / "tokenizer.json").read_text())
vocab = {w for w in tokenizer["model"]["vocab"] if not w.startswith("##") and w.isalpha()}

words = set()
for f in glob.glob(str(ROOT / "quality/questions/*.toml")):
    for q in tomllib.load(open(f, "rb"))["question"]:
        words |= set(re.findall(r"[a-z]+", q["q"].lower()))
for f in glob.glob(str(ROOT / "data/**/*.md"), recursive=True):
    words |= set(re.findall(r"[a-z]+", Path(f).read_text().lower()))
words = sorted(w for w in words if len(w) >= 4)

rng = random.Random(1)


def typo(w):
    b = list(w)
    i = rng.randrange(len(b))
    kind = rng.randrange(3)
    if kind == 0 and i + 1 < len(b):
        b[i], b[i + 1] = b[i + 1], b[i]
    elif kind == 1:
        del b[i]
    else:
        b[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(b)


typos = [t for t in map(typo, words) if t not in words]
lists = {
    "SCOWL (Hunspell)": hunspell.lookup,
    "WordPiece vocab": lambda w: w in vocab,
    "either": lambda w: hunspell.lookup(w) or w in vocab,
}
print(f"{len(words)} correct words, {len(typos)} typos")
for name, is_word in lists.items():
    recognised = sum(map(is_word, words)) / len(words)
    flagged = sum(not is_word(t) for t in typos) / len(typos)
    print(f"{name:18} correct words recognised {recognised:6.1%}   typos flagged {flagged:6.1%}")
only_vocab = [w for w in words if not hunspell.lookup(w) and w in vocab]
only_scowl = [w for w in words if hunspell.lookup(w) and w not in vocab]
print("recognised by the vocabulary only:", ", ".join(only_vocab))
print(f"recognised by SCOWL only ({len(only_scowl)}):", ", ".join(only_scowl[:25]), "…")
