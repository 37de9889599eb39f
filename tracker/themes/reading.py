"""Reading a story in its own language, on this machine: which language it is told in, the words
that carry its meaning (stop words out, each word's forms as one stem), and the key phrases of a
set of stories (YAKE).

Nothing here calls an outside service. The languages are tracker's nine (event/languages.py).
Stop words are YAKE's list for each language (Hebrew has none there: a short list below);
Snowball stems English, German, Spanish, French, Portuguese and Hindi; Japanese is cut into
words by Janome's dictionary (nouns, verbs and adjectives kept, in their dictionary form) and
Chinese by jieba's, as neither writes spaces between words. Latin words inside a Japanese or
Chinese story ("Wi-Fi", "API") are read as words of their own.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

LANGUAGES = ("en", "de", "es", "fr", "pt", "he", "hi", "ja", "zh")
PHRASE_WORDS = 3  # the longest key phrase, in words
# A letter, or a mark that belongs to one (Devanagari's vowel signs, Hebrew points, accents
# typed apart): Python's \w takes no marks, and would cut "बूथ" into pieces.
_LETTER = r"(?:[^\W\d_]|[\u0300-\u036f\u0591-\u05c7\u0900-\u097f])"
_LATIN_WORD = re.compile(rf"{_LETTER}+(?:['’-]{_LETTER}+)*")
_LATIN_ONLY = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’-][A-Za-z0-9\u00c0-\u024f]+)*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HEBREW = re.compile(r"[\u0590-\u05ff]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")

# The most frequent function words of each Latin-script language: enough to tell which of them a
# story of a few words is told in (the words of content say nothing about that).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "your",
            "from",
            "can",
            "all",
            "there",
            "what",
            "the",
            "and",
            "was",
            "is",
            "it",
            "to",
            "of",
            "in",
            "for",
            "with",
            "that",
            "this",
            "but",
            "not",
            "they",
            "we",
            "my",
            "at",
            "on",
            "very",
            "so",
            "have",
            "had",
            "were",
            "you",
            "are",
            "i",
            "really",
            "be",
            "been",
            "our",
            "their",
            "an",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "war",
            "nicht",
            "ich",
            "wir",
            "sie",
            "es",
            "ein",
            "eine",
            "zu",
            "mit",
            "auf",
            "für",
            "sehr",
            "aber",
            "auch",
            "noch",
            "wie",
            "bei",
            "den",
            "dem",
            "hat",
            "haben",
            "schon",
            "mal",
            "ganz",
            "uns",
            "kein",
            "keine",
            "wurde",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "y",
            "es",
            "que",
            "no",
            "muy",
            "en",
            "por",
            "para",
            "con",
            "pero",
            "una",
            "un",
            "fue",
            "está",
            "lo",
            "se",
            "nos",
            "mi",
            "más",
            "del",
            "al",
            "hay",
            "estaba",
            "todo",
            "como",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "que",
            "pas",
            "très",
            "je",
            "nous",
            "vous",
            "il",
            "une",
            "des",
            "du",
            "pour",
            "avec",
            "mais",
            "sur",
            "au",
            "ce",
            "on",
            "était",
            "c'est",
            "j'ai",
            "trop",
            "rien",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "é",
            "que",
            "não",
            "muito",
            "em",
            "para",
            "com",
            "mas",
            "uma",
            "um",
            "foi",
            "está",
            "do",
            "da",
            "no",
            "na",
            "nós",
            "você",
            "isso",
            "tem",
            "estava",
            "mais",
        ]
    ),
}
# YAKE ships no Hebrew list: the commonest function words, so that they never make a theme.
_HEBREW_STOP_WORDS = frozenset(
    [
        "של",
        "את",
        "על",
        "זה",
        "לא",
        "עם",
        "גם",
        "כי",
        "אבל",
        "היה",
        "הוא",
        "היא",
        "אני",
        "אנחנו",
        "הם",
        "יש",
        "אין",
        "מה",
        "כל",
        "או",
        "רק",
        "מאוד",
        "כמו",
        "לי",
        "לנו",
        "שלי",
        "שלנו",
        "זו",
        "היו",
        "אם",
        "עוד",
        "כבר",
    ]
)
# Verbs so common in Japanese that they say nothing of what a story is about (YAKE's list has
# particles and pronouns; Janome gives these as independent verbs).
_JAPANESE_STOP_WORDS = frozenset(
    [
        "する",
        "なる",
        "できる",
        "ある",
        "いる",
        "見る",
        "ない",
        "思う",
        "言う",
        "行く",
        "くる",
        "来る",
        "やる",
    ]
)
_STEMMERS = {
    "en": "english",
    "de": "german",
    "es": "spanish",
    "fr": "french",
    "pt": "portuguese",
    "hi": "hindi",
}
# Janome's parts of speech that carry a story's meaning, and the kinds of noun that do not.
_JA_KEPT = ("名詞", "動詞", "形容詞")
_JA_SKIPPED = ("非自立", "代名詞", "数", "接尾", "副詞可能")
_lock = threading.Lock()


def language_of(text: str, hint: str | None = None) -> str:
    """The language a story is told in, one of LANGUAGES: by its script (kana: Japanese; Han
    characters alone: Chinese; Hebrew; Devanagari: Hindi), else by which language's function
    words it uses most; a story too short to tell takes `hint` (its location's language) when
    that is written in Latin letters, else English."""
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    if _HEBREW.search(text):
        return "he"
    if _DEVANAGARI.search(text):
        return "hi"
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    fallback = hint if hint in _FUNCTION_WORDS else "en"
    hits = {lang: sum(w in listed for w in words) for lang, listed in _FUNCTION_WORDS.items()}
    best = max(hits.values())
    if best == 0 or hits[fallback] == best:
        return fallback
    return max(hits, key=lambda lang: hits[lang])


def _base(language: str) -> str:
    return language.split("-")[0].split("_")[0].lower()


@cache
def stop_words(language: str) -> frozenset[str]:
    """YAKE's stop words of `language` (Hebrew: the list above), lower case."""
    lang = _base(language)
    if lang == "he":
        return _HEBREW_STOP_WORDS
    extra = _JAPANESE_STOP_WORDS if lang == "ja" else frozenset()
    return frozenset(w for w in _extractor(lang).stopword_set if w) | extra


@cache
def _extractor(lang: str) -> Any:
    import yake

    stop = _HEBREW_STOP_WORDS if lang == "he" else None
    return yake.KeywordExtractor(lan=lang, n=PHRASE_WORDS, top=12, dedup_lim=0.8, stopwords=stop)


@cache
def _stemmer(lang: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(_STEMMERS[lang]) if lang in _STEMMERS else None


@cache
def _janome() -> Any:
    from janome.tokenizer import Tokenizer

    return Tokenizer()


@cache
def _jieba() -> Any:
    with warnings.catch_warnings():  # jieba 0.42 imports pkg_resources, which may warn
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _fold(word: str) -> str:
    """One spelling of a word for matching: lower case, no hyphen or apostrophe (wi-fi, WiFi and
    wifi are one word)."""
    return re.sub(r"['’-]", "", unicodedata.normalize("NFC", word).casefold())


def words(text: str, language: str) -> list[str]:
    """The words of a story that may carry its meaning, in order, each once, lower case:
    stop words, numbers and single letters out."""
    lang = _base(language)
    found: list[str] = []
    rest = text
    if lang in ("ja", "zh"):
        found += [_fold(w) for w in _LATIN_ONLY.findall(text) if _LATIN_LETTER.search(w)]
        rest = _LATIN_ONLY.sub(" ", text)
        found += _segment(rest, lang)
    else:
        found += [_fold(w) for w in _LATIN_WORD.findall(text)]
    stop = stop_words(lang) | stop_words("en")  # English words turn up in every language
    kept: list[str] = []
    for word in found:
        if len(word) < 2 or word in stop or word in kept:
            continue
        if lang not in ("ja", "zh") and len(word) < 3 and not word.isupper():
            continue
        kept.append(word)
    return kept


def _segment(text: str, lang: str) -> list[str]:
    """Japanese or Chinese text cut into words by the language's dictionary segmenter."""
    with _lock:  # neither segmenter promises to be safe across threads
        if lang == "ja":
            out = []
            for token in _janome().tokenize(text):
                pos = token.part_of_speech.split(",")
                if pos[0] in _JA_KEPT and not (set(pos[1:3]) & set(_JA_SKIPPED)):
                    base = token.base_form if token.base_form != "*" else token.surface
                    if pos[0] != "名詞" and len(base) < 2:
                        continue
                    out.append(base)
            return out
        return [w for w in _jieba().cut(text) if len(w) >= 2 and _HAN.search(w)]


def stem(word: str, language: str) -> str:
    """One form for a word's forms (queues, queued, queue -> queu), by the language's Snowball
    stemmer; a word in Latin letters inside another script's story by English's."""
    lang = _base(language)
    if lang not in _STEMMERS and word.isascii():
        lang = "en"
    stemmer = _stemmer(lang)
    return str(stemmer.stemWord(word)) if stemmer is not None else word


def spaced(text: str, language: str) -> str:
    """A story with spaces between its words, as YAKE reads text (Japanese and Chinese are
    segmented; other languages are left as they are)."""
    lang = _base(language)
    if lang not in ("ja", "zh"):
        return text
    with _lock:
        if lang == "ja":
            return " ".join(t.surface for t in _janome().tokenize(text))
        return " ".join(_jieba().cut(text))


def key_phrases(texts: Sequence[str], language: str, top: int = 8) -> list[str]:
    """The key phrases of a set of stories read as one text, best first (YAKE, with the
    language's stop words), each as written in the stories; none when there is no text."""
    lang = _base(language)
    body = "\n".join(spaced(t.strip(), lang).rstrip(".!?。！？") + "." for t in texts if t.strip())
    if not body:
        return []
    with _lock:
        found = _extractor(lang if lang in LANGUAGES else "en").extract_keywords(body)
    phrases: list[str] = []
    for phrase, _score in found:
        shown = _unspace(str(phrase), lang)
        if shown and shown.casefold() not in {p.casefold() for p in phrases}:
            phrases.append(shown)
    return phrases[:top]


def _unspace(phrase: str, lang: str) -> str:
    """A phrase of a segmented language written back without the spaces segmenting added."""
    if lang not in ("ja", "zh"):
        return phrase.strip()
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", phrase).strip()


def mentions(phrase: str, texts: Iterable[str]) -> bool:
    """Whether any of `texts` contains `phrase` (case and hyphens aside)."""
    wanted = _fold(phrase)
    return any(wanted in _fold(t) for t in texts)
