"""Grouping stories by what they are about, from their terms: plain arithmetic, no database.

A story is a vector of its terms (stems), each weighted by how rare it is among the stories of
its voice (inverse document frequency, so "wifi" weighs more than "great"), scaled to length 1.
A theme is the sum of its stories' vectors, scaled likewise (its centroid). A new story joins the
theme whose centroid is closest by cosine, if that is at least JOIN; stories that join none wait
in a pool, and the pool is grouped by average-linkage clustering (two groups join while the mean
similarity of their stories is at least GROUP); a group of at least MIN_STORIES stories becomes
a new theme. Existing themes are never split or re-formed, so a story keeps its theme.

Misspellings: a word used by one story is read as a word used by several when it is one edit
away from it (two for words of eight letters or more) and starts with the same letter
(Damerau-Levenshtein, jellyfish): "registraton" is "registration", "wlan" stays "wlan".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import jellyfish
import numpy as np

Vector = dict[str, float]

JOIN = 0.2  # cosine of a story to a theme's centroid to join it
GROUP = 0.15  # mean cosine of two groups of the pool to make one
MIN_STORIES = 3  # stories a new theme needs
SMOOTH = 1.0  # how much of a story's vector its terms' company makes
CHUNK = 800  # stories of the pool clustered at once (the similarity matrix is CHUNK x CHUNK)
CENTROID_TERMS = 40  # the terms a theme's centroid keeps, heaviest first


def misspellings(
    new: Iterable[str], known: Mapping[str, int], min_known: int = 2
) -> dict[str, str]:
    """{word: the word it is a misspelling of} for the words of `new` that `known` (word ->
    stories using it) has in fewer than `min_known` stories and that are that close to a word it
    has in at least `min_known` (the most used of those)."""
    frequent: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for word, n in known.items():
        if n >= min_known and len(word) >= 4:
            frequent.setdefault((word[0], len(word)), []).append((word, n))
    folded: dict[str, str] = {}
    for word in set(new):
        if known.get(word, 0) >= min_known or len(word) < 5:
            continue
        allowed = 2 if len(word) >= 8 else 1
        best: tuple[int, int, str] | None = None
        for size in range(len(word) - allowed, len(word) + allowed + 1):
            for other, n in frequent.get((word[0], size), ()):
                distance = jellyfish.damerau_levenshtein_distance(word, other)
                if distance <= allowed and (best is None or (distance, -n) < best[:2]):
                    best = (distance, -n, other)
        if best is not None:
            folded[word] = best[2]
    return folded


def idf(document_frequency: Mapping[str, int], stories: int) -> dict[str, float]:
    """Each term's weight: log(1 + stories / stories with the term)."""
    return {t: math.log(1 + stories / n) for t, n in document_frequency.items() if n > 0}


def vector(terms: Iterable[str], weights: Mapping[str, float]) -> Vector:
    """A story's vector: each of its terms at its weight (a term never seen weighs the most a
    term can), scaled to length 1; empty for a story without terms."""
    ceiling = max(weights.values(), default=1.0)
    raw = {t: weights.get(t, ceiling) for t in set(terms)}
    norm = math.sqrt(sum(w * w for w in raw.values()))
    return {t: w / norm for t, w in raw.items()} if norm else {}


def centroid(vectors: Iterable[Vector], keep: int = CENTROID_TERMS) -> Vector:
    """The sum of `vectors`, cut to its `keep` heaviest terms, scaled to length 1."""
    total: Counter[str] = Counter()
    for v in vectors:
        total.update(v)
    top = dict(total.most_common(keep))
    norm = math.sqrt(sum(w * w for w in top.values()))
    return {t: w / norm for t, w in top.items()} if norm else {}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def closest(story: Vector, themes: Mapping[int, Vector], at_least: float = JOIN) -> int | None:
    """The theme whose centroid is closest to `story`, if at least `at_least`, else None."""
    best, best_id = at_least, None
    for theme_id, c in themes.items():
        score = cosine(story, c)
        if score >= best and (best_id is None or score > best):
            best, best_id = score, theme_id
    return best_id


def _similarity(matrix: np.ndarray) -> np.ndarray:
    """Cosine of the stories' vectors, each smoothed by the terms its terms keep company with
    among these stories (SMOOTH of it): "internet" and "wifi" are alike when stories use them
    together, so two stories that share no word can still be about the same thing."""
    cooccur = matrix.T @ matrix
    norms = np.linalg.norm(cooccur, axis=1, keepdims=True)
    cooccur /= np.where(norms > 0, norms, 1)
    smoothed = matrix + SMOOTH * (matrix @ cooccur)
    lengths = np.linalg.norm(smoothed, axis=1, keepdims=True)
    smoothed /= np.where(lengths > 0, lengths, 1)
    return smoothed @ smoothed.T


def cluster(
    vectors: Sequence[Vector], at_least: float = GROUP, min_size: int = MIN_STORIES
) -> list[list[int]]:
    """Groups of at least `min_size` of `vectors` (their indexes), largest first, by average
    linkage: the two groups whose stories are most alike on average join, while that average is
    at least `at_least`. Cost: len(vectors)^2 memory and at most that many steps of
    len(vectors)^2 / CHUNK^2 work; callers pass at most CHUNK."""
    n = len(vectors)
    if n < min_size:
        return []
    terms = sorted({t for v in vectors for t in v})
    column = {t: i for i, t in enumerate(terms)}
    matrix = np.zeros((n, len(terms)), dtype=np.float32)
    for row, v in enumerate(vectors):
        for t, w in v.items():
            matrix[row, column[t]] = w
    sim = _similarity(matrix)
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n, dtype=np.float32)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    alive = np.ones(n, dtype=bool)
    while True:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        if not np.isfinite(sim[i, j]) or sim[i, j] < at_least:
            break
        # Lance-Williams for average linkage: the merged group's mean similarity to each other.
        merged = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])
        sim[i, :] = merged
        sim[:, i] = merged
        sim[i, i] = -np.inf
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        members[i] += members.pop(j)
    groups = [m for i, m in members.items() if alive[i] and len(m) >= min_size]
    return sorted(groups, key=lambda g: (-len(g), g[0]))
