"""The one generator every task uses, in layers (as mlx-lm's generate.py):

    stream_generate     -> an iterator of `Response` (text delta, token, log-prob, finish_reason)
    generate            -> a `Completion`, a loop over the stream
    generate_candidates -> N `Completion`s for one prompt, decoded together as one batch
    generate_batch      -> one `Completion` for each of several prompts, as one batch

The modules, by concern:

    options.py   SamplingOptions, the per-sequence sampler, Transform, CancelToken
    prompt.py    encoding, token healing, the context limit
    vocab.py     per-tokenizer tables: tokens never written, token texts
    sequence.py  one sequence's state (EOS, stops, length, text, rewinds): both drivers use it
    stops.py     stop strings
    antislop.py  banned-phrase backtracking
    cache.py     prompt cache, prefill, KV rewinds, the per-call session
    stream.py    the single-sequence driver (mlx-lm's generate_step)
    batch.py     the batch driver (mlx-lm's BatchGenerator)

Sampling (temperature, top-p, min-p, top-k) and repetition control come from
mlx-lm's sample_utils. Adapters and persona steering plug in as `transforms`:
objects with `apply(model) -> undo` that change the model for one call.
"""

from engine.generate.antislop import PhraseList, default_phrases
from engine.generate.batch import MAX_BATCH, MAX_CANDIDATES, generate_batch, generate_candidates
from engine.generate.cache import PromptCache
from engine.generate.options import CancelToken, SamplingOptions, Transform
from engine.generate.prompt import Encoded, context_length, encode, prepare
from engine.generate.sequence import Completion, Response
from engine.generate.stops import StopMatcher
from engine.generate.stream import generate, stream_generate

__all__ = [
    "MAX_BATCH", "MAX_CANDIDATES", "CancelToken", "Completion", "Encoded", "PhraseList",
    "PromptCache", "Response", "SamplingOptions", "StopMatcher", "Transform",
    "context_length", "default_phrases", "encode", "generate", "generate_batch",
    "generate_candidates", "prepare", "stream_generate",
]
