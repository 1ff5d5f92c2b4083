"""Write the example's embeddings.txt: a small, deterministic, made-up embedding file.

Real embeddings (word2vec, GloVe) are too big to commit and carry their own licences, so the
example ships vectors made here: words of one topic (animals, colours, food, ...) sit around
a shared random centre, so that nearest neighbours look plausible ("cat" is closer to "dog"
than to "blue"), and function words get small vectors of their own. The same seed always gives
the same bytes; tests/recipes/test_text_embedding.py checks the committed file against it.

    python examples/text-embedding/make_embeddings.py [--out FILE] [--dim 16]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240601

TOPICS = {
    "animals": "cat dog horse cow sheep pig goat mouse rabbit lion tiger bear wolf fox deer "
               "bird eagle owl duck fish shark whale snake frog bee",
    "colours": "red orange yellow green blue purple pink brown black white gray gold silver",
    "numbers": "one two three four five six seven eight nine ten hundred thousand million",
    "food": "bread rice pasta cheese butter milk egg apple banana grape lemon cherry potato "
            "tomato carrot onion soup salad pizza cake cookie sugar salt coffee tea water juice",
    "family": "mother father sister brother son daughter parent child baby family friend wife "
              "husband",
    "body": "head hand foot eye ear nose mouth arm leg heart hair face finger",
    "weather": "rain snow wind sun cloud storm weather cold hot warm winter summer spring autumn",
    "places": "city town village house home school office river lake sea ocean mountain forest "
              "island country road street park",
    "time": "day night morning evening week month year today tomorrow yesterday hour minute "
            "second",
    "verbs": "run walk eat drink sleep read write speak see hear think know love like want "
             "give take make go come",
    "computing": "computer phone internet software data model network code screen keyboard",
}
FUNCTION_WORDS = ("the a an and or but of to in on at for with from by is are was were be "
                  "this that it he she they we you i not no yes")


def make_embeddings(dim: int = 16, seed: int = SEED) -> tuple[list[str], np.ndarray]:
    """Tokens and their float32 vectors, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    tokens: list[str] = []
    rows = []
    for words in TOPICS.values():
        centre = rng.standard_normal(dim)
        for word in words.split():
            tokens.append(word)
            rows.append(0.8 * centre + 0.5 * rng.standard_normal(dim))
    for word in FUNCTION_WORDS.split():
        tokens.append(word)
        rows.append(0.3 * rng.standard_normal(dim))
    if len(set(tokens)) != len(tokens):
        raise SystemExit("make_embeddings.py: a word is listed twice")
    return tokens, np.asarray(rows, dtype=np.float32)


def render(tokens: list[str], matrix: np.ndarray) -> str:
    """GloVe-style text: 'token v1 ... vD', one line per token."""
    return "".join(f"{token} {' '.join(f'{v:.5f}' for v in row)}\n"
                   for token, row in zip(tokens, matrix, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("embeddings.txt"))
    parser.add_argument("--dim", type=int, default=16)
    args = parser.parse_args()
    tokens, matrix = make_embeddings(args.dim)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(render(tokens, matrix), encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out}: {len(tokens)} tokens x {args.dim} dimensions")


if __name__ == "__main__":
    main()
