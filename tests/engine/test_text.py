"""engine.text: words, sentences, n-gram statistics, grouping and hashing, from first principles."""

from __future__ import annotations

import hashlib
import random

from engine.text import (
    UnionFind, detect_lang, distinct_n, linked_groups, plain_lines, repeated_ngram_share, sentences,
    sha256_file, tokens_per_word, word_count, words,
)


def test_words_keep_inner_apostrophes_and_skip_punctuation():
    text = "It’s a truth — universally acknowledged, isn't it? Room 101."
    assert words(text) == ["it's", "a", "truth", "universally", "acknowledged", "isn't", "it",
                           "room", "101"]
    assert word_count(text) == 9 and word_count("") == 0 and word_count(" — ... *** ") == 0
    assert word_count("a well-known fact,\nsaid—she") == 4  # what a writer counts
    assert word_count(text) == len([t for t in text.split() if t != "—"])


def test_sentences_end_at_terminal_punctuation_and_closing_quotes():
    text = 'He stopped. "Why?" she asked… Then nothing!'
    assert sentences(text) == ["He stopped.", '"Why?"', "she asked…", "Then nothing!"]


def test_distinct_n_and_repeated_ngram_share():
    assert distinct_n("a b a b".split(), 1) == 0.5
    assert distinct_n("a b a b".split(), 2) == 2 / 3
    assert distinct_n(["a"], 2) is None
    # "the cat sat" twice: six of the seven tokens are inside a repeated 3-gram
    assert repeated_ngram_share("the cat sat the cat sat down".split(), 3) == 6 / 7
    assert repeated_ngram_share("a b c d".split(), 3) == 0.0
    assert repeated_ngram_share(["a", "b"], 3) is None


def _components_by_search(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    edges: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in pairs:
        edges[a].add(b)
        edges[b].add(a)
    seen, out = set(), []
    for i in range(n):
        if i in seen:
            continue
        stack, group = [i], []
        seen.add(i)
        while stack:
            x = stack.pop()
            group.append(x)
            for y in edges[x] - seen:
                seen.add(y)
                stack.append(y)
        out.append(sorted(group))
    return out


def test_union_find_groups_match_a_graph_search():
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(1, 40)
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, n))]
        expected = _components_by_search(n, pairs)
        assert linked_groups(n, pairs, min_size=1) == expected
        assert linked_groups(n, pairs) == [g for g in expected if len(g) > 1]
        uf = UnionFind(n)
        for a, b in pairs:
            uf.union(a, b)
        assert all(uf.find(i) == min(g) for g in expected for i in g)  # the root is the smallest


def test_sha256_file_reads_in_blocks_and_matches_hashlib(tmp_path):
    data = random.Random(1).randbytes(3 * (1 << 20) + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_tokens_per_word_has_a_value_for_every_language():
    assert detect_lang("«Привет», — сказал он (Hello).") == "ru" and detect_lang("Hello.") == "en"
    assert tokens_per_word("en") < tokens_per_word("ru")
    assert tokens_per_word("de") == tokens_per_word(None) > 1


def test_plain_lines_turns_every_line_break_into_the_one_an_editor_holds():
    text = "one\r\ntwo\rthree\u2028four\u2029five\x0bsix\n\nseven"
    assert plain_lines(text) == "one\ntwo\nthree\nfour\nfive\nsix\n\nseven"
    assert plain_lines("no breaks, 1\t2") == "no breaks, 1\t2"
