"""Content descriptions: validated, and never the author's wording."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from training.chunking import chunk_text
from training.neutralizers import (
    EndpointNeutralizer, ExtractiveNeutralizer, describe_chunk, make_neutralizer, validate,
)


def _passages(reference, rel: str, k: int) -> list[str]:
    text = (reference / rel).read_text("utf-8")
    chunks = chunk_text(text, 250, 650, 0)
    step = max(1, len(chunks) // k)
    return [c.text for c in chunks[::step][:k]]


def _word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    import re

    toks = re.findall(r"\w+", text.lower())
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


@pytest.mark.parametrize("rel", ["en/austen/emma.txt", "en/twain/adventures_of_huckleberry_finn.txt",
                                 "ru/tolstoy/anna_karenina.txt"])
def test_extractive_descriptions_pass_validation_and_do_not_copy(reference, rel):
    neutralizer = ExtractiveNeutralizer()
    for passage in _passages(reference, rel, 12):
        description = neutralizer.describe(passage)
        check = validate(description, passage)
        assert check.ok, (check.reasons, description)
        # no run of 5 of the author's words survives, and hardly any run of 4
        assert not (_word_ngrams(description, 5) & _word_ngrams(passage, 5)), description
        d4 = _word_ngrams(description, 4)
        assert len(d4 & _word_ngrams(passage, 4)) <= 0.05 * len(d4), description
        assert check.words < 0.5 * len(passage.split())


def test_extractive_is_deterministic_and_names_the_point_of_view(reference):
    passage = _passages(reference, "en/dickens/great_expectations.txt", 3)[1]
    a, b = ExtractiveNeutralizer().describe(passage), ExtractiveNeutralizer().describe(passage)
    assert a == b
    assert a.startswith("Told in the first person")  # Pip narrates


def test_validate_rejects_copies_and_stubs(reference):
    passage = _passages(reference, "en/austen/emma.txt", 2)[0]
    copied = " ".join(passage.split()[:60])
    check = validate(copied, passage)
    assert not check.ok and check.copied_ngram_share > 0.9 and check.max_sentence_jaccard > 0.5
    stub = validate("A woman walks.", passage)
    assert not stub.ok and any("too short" in r for r in stub.reasons)


class _ChatHandler(BaseHTTPRequestHandler):
    """A real OpenAI-style HTTP endpoint that echoes the first words of the passage back."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        passage = body["messages"][-1]["content"].split("\n\n", 1)[1]
        reply = {"choices": [{"message": {"content": " ".join(passage.split()[:80])}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_endpoint_backend_calls_the_endpoint_and_copies_fall_back_to_extractive(reference):
    """A model that parrots the passage is caught by validation and replaced."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        neutralizer = make_neutralizer(f"endpoint:{url}#tiny")
        assert isinstance(neutralizer, EndpointNeutralizer)
        passages = _passages(reference, "en/wells/the_time_machine.txt", 3)
        raw = neutralizer.describe_many(passages)
        assert len(_ChatHandler.requests) == 3
        req = _ChatHandler.requests[0]
        assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "tiny"
        assert raw[0].split()[:5] == passages[0].split()[:5]
        d = describe_chunk(passages[0], neutralizer, description=raw[0])
        assert d.backend == "extractive" and d.rejected and "copies" in d.rejected
        assert d.validation.ok
    finally:
        server.shutdown()


def test_endpoint_failure_is_one_clear_error():
    from engine.errors import KillahError

    n = EndpointNeutralizer("http://127.0.0.1:9/v1", timeout=2, retries=0)
    with pytest.raises(KillahError, match="neutralization endpoint"):
        n.describe("Some passage of text.")


def test_unknown_backend_is_refused():
    from engine.errors import KillahError

    with pytest.raises(KillahError, match="unknown neutralizer"):
        make_neutralizer("gpt")
