"""Sampling: the distribution it draws from, determinism (the same ids as rng.choice drew),
the engine calls it makes, the NumPy stepper writing what engine.forward writes, unknown
prime tokens, <eos> stops, and text streamed whole at every vocabulary level."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.vocab import Vocab
from rnnlab.errors import InputError
from rnnlab.generate import Sampler, StreamDecoder, check_prime, generate, sample_next
from rnnlab.model import ModelSpec
from rnnlab.numpy.engine import NumpyEngine

PAD, UNK, EOS = Vocab.PAD_ID, Vocab.UNK_ID, Vocab.EOS_ID
TEXT = "hello world"
CHARS = Vocab.build(TEXT, "char")  # <pad> <unk> <eos> l o h e ' ' w r d
BYTES = Vocab.build(b"", "byte")
ANBN = Vocab([*Vocab.SPECIALS, "a", "b"], "token")
FAST = settings(max_examples=40, deadline=None)

# 99.99th percentiles of the chi-square distribution by degrees of freedom: a correct sampler
# exceeds them once in 10,000 seeds; a wrong temperature or renormalization by thousands.
CHI2_9999 = {2: 18.42, 3: 21.11, 4: 23.51, 5: 25.74, 6: 27.86, 7: 29.88}


def softmax(z):
    """Reference softmax, written independently of the code under test."""
    e = [np.exp(v - max(z)) for v in z]
    return np.array(e) / sum(e)


def chi_square(draws, p):
    """Pearson's statistic of integer ``draws`` against probabilities ``p`` (cells p > 0)."""
    counts = np.bincount(draws, minlength=len(p))
    expected = len(draws) * np.asarray(p)
    assert (counts[expected == 0] == 0).all(), "drew an id that has probability 0"
    keep = expected > 0
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()), int(keep.sum())


class RecordingEngine:
    """forward returns the same logits at every step; records (inputs, state in, state out)."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, dtype=np.float64)  # (V,)
        self.calls = []

    def forward(self, inputs, state=None):
        T, B = inputs.shape
        new_state = object()  # a fresh token per call: tests check it is passed back
        self.calls.append((np.array(inputs), state, new_state))
        return np.tile(self.logits, (T, B, 1)), new_state  # (T, B, V)


class ScriptedEngine:
    """Its last logits always peak at the next id of ``script``: argmax writes the script."""

    def __init__(self, script, vocab_size):
        self.script, self.V, self.calls = list(script), vocab_size, 0

    def forward(self, inputs, state=None):
        T, B = inputs.shape
        logits = np.zeros((T, B, self.V))  # (T, B, V)
        if self.calls < len(self.script):
            logits[-1, :, self.script[self.calls]] = 10.0
        self.calls += 1
        return logits, state


def script_of(vocab, tokens):
    return [vocab.index(t) for t in tokens]


def written(engine, vocab, **kw):
    return "".join(generate(engine, vocab, **kw))


# --------------------------------------------------------------------------- sample_next
def test_argmax_takes_the_lowest_id_among_equal_maxima():
    rng = np.random.default_rng(0)
    assert sample_next(np.array([1.0, 3.0, 3.0, 0.0]), rng, argmax=True) == 1
    assert sample_next(np.array([1.0, 3.0, 3.0, 0.0]), rng, argmax=True, banned=(1,)) == 2


def test_argmax_skips_banned_ids():
    assert (
        sample_next(np.array([9.0, 1.0, 2.0]), np.random.default_rng(0), argmax=True, banned=(0,))
        == 2
    )


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_temperature_must_be_positive_and_points_to_argmax(temperature):
    with pytest.raises(ValueError, match="--argmax for greedy"):
        sample_next(np.zeros(3), np.random.default_rng(0), temperature=temperature)


@pytest.mark.parametrize("top_k", [0, -2, 1.5, True])
def test_top_k_must_be_a_positive_integer(top_k):
    with pytest.raises(ValueError, match="--top-k"):
        sample_next(np.zeros(3), np.random.default_rng(0), top_k=top_k)


def test_all_ids_banned_is_an_error():
    with pytest.raises(ValueError, match="banned"):
        sample_next(np.zeros(2), np.random.default_rng(0), banned=(0, 1))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("argmax", [False, True])
def test_non_finite_logits_are_reported_as_a_diverged_model(bad, argmax):
    for dtype in (np.float32, np.float64):
        with pytest.raises(InputError, match="diverged"):
            sample_next(np.array([0.0, bad, 1.0], dtype), np.random.default_rng(0), argmax=argmax)
        # a banned id's logit does not matter
        logits = np.array([bad, 0.0, -1.0], dtype)
        assert sample_next(logits, np.random.default_rng(0), argmax=argmax, banned=(0,)) == 1


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_sampling_frequencies_match_softmax_of_logits_over_temperature(temperature):
    logits = [0.3, -1.0, 2.0, 0.0, 1.1, -0.4]
    rng = np.random.default_rng(1234)
    draws = [sample_next(np.array(logits), rng, temperature) for _ in range(10_000)]
    stat, cells = chi_square(draws, softmax([z / temperature for z in logits]))
    assert stat < CHI2_9999[cells - 1], f"chi-square {stat:.1f} at temperature {temperature}"


def test_top_k_and_banned_renormalize_over_the_remaining_ids():
    logits = [0.3, -1.0, 2.0, 0.0, 1.1, 5.0]
    rng = np.random.default_rng(99)
    draws = [sample_next(np.array(logits), rng, top_k=3, banned=(5,)) for _ in range(10_000)]
    p = np.zeros(6)
    p[[2, 4, 0]] = softmax([2.0, 1.1, 0.3])  # id 5 banned; the 3 largest of the rest
    stat, cells = chi_square(draws, p)
    assert stat < CHI2_9999[cells - 1], f"chi-square {stat:.1f}"


def test_top_k_ties_at_the_cut_keep_the_lower_ids():
    rng = np.random.default_rng(0)
    draws = {sample_next(np.array([0.0, 2.0, 2.0, 2.0]), rng, top_k=2) for _ in range(500)}
    assert draws == {1, 2}


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
@FAST
def test_top_k_1_equals_argmax(logits, seed):
    logits = np.array(logits, dtype=float)  # small integers: ties are common
    rng = np.random.default_rng(seed)
    assert sample_next(logits, rng, top_k=1) == sample_next(logits, rng, argmax=True)


def test_lower_temperature_concentrates_on_the_argmax_and_the_limit_is_argmax():
    logits = np.array([0.0, 0.95, 1.0, 0.9])
    rng = np.random.default_rng(5)
    share = [
        np.mean([sample_next(logits, rng, t) == 2 for _ in range(3000)]) for t in (1.0, 0.1, 0.01)
    ]
    assert share[0] < share[1] < share[2], share
    assert share[2] > 0.99
    # far below any float's resolution: no overflow, no NaN, exactly the argmax
    assert {sample_next(logits, rng, temperature=1e-300) for _ in range(100)} == {2}


def test_banned_ids_are_never_drawn_even_with_the_largest_logit():
    rng = np.random.default_rng(0)
    logits = np.array([50.0, 50.0, 0.0, 0.1, -0.2])
    draws = {sample_next(logits, rng, temperature=5.0, banned=(0, 1)) for _ in range(2000)}
    assert draws == {2, 3, 4}


def sample_with_choice(logits, rng, temperature=1.0, top_k=None, argmax=False, banned=()):
    """rnnlab's sampler before :class:`Sampler` existed (``rng.choice`` over the softmax)."""
    logits = np.array(logits, dtype=np.float64)
    allowed = np.ones(logits.shape, dtype=bool)
    allowed[list(banned)] = False
    logits[~allowed] = -np.inf
    if argmax:
        return int(np.argmax(logits))
    if top_k is not None:
        order = np.argsort(-logits, kind="stable")
        logits[order[int(top_k) :]] = -np.inf
    p = np.exp((logits - logits.max()) / temperature)
    return int(rng.choice(len(p), p=p / p.sum()))


@given(
    st.lists(st.lists(st.floats(-30, 30), min_size=6, max_size=6), min_size=1, max_size=30),
    st.sampled_from([1.0, 0.3, 2.5, 1e-3]),
    st.sampled_from([None, 1, 2, 5, 6, 9]),
    st.sampled_from([(), (0,), (0, 1), (3, 5)]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
@FAST
def test_a_reused_sampler_draws_the_ids_rng_choice_drew_for_the_same_seed(
    rows, temperature, top_k, banned, argmax, seed
):
    sampler = Sampler(6, temperature, top_k, argmax, banned)  # its buffers live across draws
    rng_new, rng_old = np.random.default_rng(seed), np.random.default_rng(seed)
    for row in rows:
        logits = np.array(row, dtype=np.float32)
        expected = sample_with_choice(logits, rng_old, temperature, top_k, argmax, banned)
        assert sampler(logits, rng_new) == expected


@pytest.mark.parametrize("argmax, draws_per_token", [(False, 1), (True, 0)])
def test_each_draw_consumes_exactly_one_uniform_and_argmax_none(argmax, draws_per_token):
    sampler = Sampler(5, temperature=0.8, top_k=3, argmax=argmax, banned=(0,))
    rng = np.random.default_rng(21)
    logits = np.random.default_rng(0).normal(size=(40, 5))
    for row in logits:
        sampler(row, rng)
    reference = np.random.default_rng(21)
    reference.random(40 * draws_per_token)
    assert rng.random() == reference.random()


# --------------------------------------------------------------------------- engine calls
def test_the_prime_is_read_in_one_call_and_the_state_is_carried():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    tokens = list(generate(engine, CHARS, prime="hello", length=6, seed=0))
    (first, state_in, _), *steps = engine.calls
    assert first.shape == (5, 1) and first.dtype == np.int64
    np.testing.assert_array_equal(first[:, 0], CHARS.encode("hello"))
    assert state_in is None  # a fresh sequence starts from the engine's zero state
    assert len(steps) == 5  # the sixth token needs no further step
    for k, (inputs, state_in, _) in enumerate(steps):
        assert inputs.shape == (1, 1) and inputs.dtype == np.int64
        assert state_in is engine.calls[k][2], f"step {k + 1} was not given the last state"
        assert CHARS.tokens[inputs[0, 0]] == tokens[k]  # it feeds back what it wrote


def test_an_empty_prime_starts_from_eos():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    list(generate(engine, CHARS, prime="", length=2, seed=0))
    np.testing.assert_array_equal(engine.calls[0][0], [[EOS]])


def test_tokens_are_yielded_before_the_next_step_is_computed():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    stream = generate(engine, CHARS, prime="he", length=50, seed=0)
    assert engine.calls == []  # nothing runs until the caller asks
    next(stream)
    assert len(engine.calls) == 1  # only the prime: the first token is out before step 2


def test_length_zero_writes_nothing_and_runs_nothing():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    assert written(engine, CHARS, prime="he", length=0) == ""
    assert engine.calls == []


def test_same_seed_same_text_other_seed_other_text():
    engine = RecordingEngine(np.r_[0.0, 0.0, -50.0, np.zeros(len(CHARS) - 3)])  # no <eos>
    a, b, c = (written(engine, CHARS, length=60, seed=s) for s in (7, 7, 8))
    assert a == b and a != c
    assert len(a) == 60


def test_pad_and_unk_are_never_generated_and_sampling_matches_softmax():
    logits = np.array([9.0, 9.0, 0.5, 1.0, -1.0, 0.0, 2.0, 0.3, 0.1, -0.5, 1.5])  # (V,)
    ids = list(generate(RecordingEngine(logits), CHARS, length=10_000, seed=3))
    draws = [CHARS.index(t) for t in ids]
    p = np.r_[0.0, 0.0, softmax(logits[2:])]  # <pad> and <unk> banned, the rest renormalized
    stat, cells = chi_square(draws, p)
    assert stat < CHI2_9999.get(cells - 1, 45.0), f"chi-square {stat:.1f} over {cells} ids"


def test_a_vocabulary_of_specials_only_may_write_unk_but_never_pad():
    vocab = Vocab(list(Vocab.SPECIALS), "token")
    draws = written(RecordingEngine([9.0, 0.0, 0.5]), vocab, length=200, seed=0).split()
    assert set(draws) == {"<unk>", "<eos>"}


def test_argmax_is_deterministic_without_a_seed():
    logits = np.linspace(0, 1, len(CHARS))  # the last id ('d') is the most likely
    text = {written(RecordingEngine(logits), CHARS, length=5, argmax=True) for _ in range(3)}
    assert text == {"ddddd"}


def test_stop_at_eos_ends_the_sample_without_writing_eos():
    script = script_of(ANBN, ["a", "b", "b", "<eos>", "a"])
    engine = ScriptedEngine(script, len(ANBN))
    out = written(engine, ANBN, prime="a", length=10, argmax=True, stop_at_eos=True)
    assert out == " a b b"
    assert engine.calls == 4  # the prime and three steps; nothing after <eos> is computed
    engine = ScriptedEngine(script, len(ANBN))
    out = written(engine, ANBN, prime="a", length=5, argmax=True)
    assert out == " a b b <eos> a"  # without the flag <eos> is a token like any other


def test_a_model_with_the_wrong_vocabulary_size_is_refused():
    with pytest.raises(ValueError, match="vocabulary has 11 tokens"):
        written(RecordingEngine(np.zeros(12)), CHARS, length=3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": 0.0}, "--argmax"),
        ({"top_k": 0}, "--top-k"),
        ({"length": -1}, "--length"),
        ({"on_unknown": "skip"}, "on_unknown"),
    ],
)
def test_bad_arguments_fail_when_called_not_when_iterated(kwargs, match):
    engine = RecordingEngine(np.zeros(len(CHARS)))
    with pytest.raises(ValueError, match=match):
        generate(engine, CHARS, **kwargs)  # no next(): the error comes at once
    assert engine.calls == []


def test_argmax_needs_no_valid_temperature():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    assert list(generate(engine, CHARS, length=3, argmax=True, temperature=0.0)) == ["<eos>"] * 3


# --------------------------------------------------------------------------- unknown prime
def test_unknown_prime_tokens_are_listed_and_read_as_unk():
    assert check_prime(CHARS, "hez!e!") == ["z", "!"]
    assert check_prime(CHARS, "") == []
    engine = RecordingEngine(np.zeros(len(CHARS)))
    list(generate(engine, CHARS, prime="hez!", length=1, seed=0))
    np.testing.assert_array_equal(
        engine.calls[0][0][:, 0], [CHARS.index(c) for c in "he"] + [UNK] * 2
    )


def test_unknown_prime_tokens_with_on_unknown_error_fail_in_one_line():
    engine = RecordingEngine(np.zeros(len(CHARS)))
    with pytest.raises(InputError) as info:
        generate(engine, CHARS, prime="hez!", on_unknown="error")
    message = str(info.value)
    assert "\n" not in message
    assert "'z'" in message and "'!'" in message and "2 character(s)" in message
    assert "drop them" in message and "retrain" in message
    assert engine.calls == []


def test_unknown_words_are_named_at_word_level():
    vocab = Vocab.build("the cat sat on the mat", "word")
    with pytest.raises(InputError, match=r"1 word\(s\).*'dog'"):
        generate(RecordingEngine(np.zeros(len(vocab))), vocab, prime="the dog", on_unknown="error")


# --------------------------------------------------------------------------- streamed text
def test_byte_level_multi_byte_characters_are_streamed_whole():
    text = "héllo, 世界 😀!"
    script = [b + 3 for b in text.encode("utf-8")]
    engine = ScriptedEngine(script, len(BYTES))
    pieces = list(generate(engine, BYTES, length=len(script), argmax=True))
    assert pieces == list(text)  # one piece per character, never a fragment


def test_byte_level_broken_utf8_before_eos_is_flushed_as_a_replacement_character():
    ids = [0xE4 + 3, 0xB8 + 3, EOS, ord("a") + 3]  # two bytes of a 3-byte character, then <eos>
    pieces = list(generate(ScriptedEngine(ids, len(BYTES)), BYTES, length=4, argmax=True))
    assert pieces == ["\ufffd<eos>", "a"]
    assert "".join(pieces) == BYTES.decode(ids)


@given(st.lists(st.one_of(st.integers(3, 258), st.sampled_from([UNK, EOS])), max_size=30))
@FAST
def test_byte_stream_joins_to_vocab_decode(ids):
    decoder = StreamDecoder(BYTES)
    pieces = [decoder.decode(i) for i in ids] + [decoder.flush()]
    assert "".join(pieces) == BYTES.decode(ids)


@given(
    st.lists(st.sampled_from(range(3, 15)), max_size=12), st.sampled_from(["", "the", "(", "the "])
)
@FAST
def test_word_stream_continues_the_prime_as_vocab_decode_would(ids, prime):
    vocab = Vocab.build("the cat ( sat ) . , on it's mat ! \n", "word")
    decoder = StreamDecoder(vocab, prime)
    streamed = "".join(decoder.decode(i) for i in ids)
    prime_ids = list(vocab.encode(prime))
    continuation = vocab.decode(prime_ids + ids)[len(vocab.decode(prime_ids)) :]
    if prime.endswith(" "):  # the prime already shows the space before the first word
        continuation = continuation.removeprefix(" ")
    assert streamed == continuation


@given(st.lists(st.integers(0, len(CHARS) - 1), max_size=30))
@FAST
def test_char_stream_joins_to_vocab_decode(ids):
    decoder = StreamDecoder(CHARS, "he")
    assert "".join(decoder.decode(i) for i in ids) + decoder.flush() == CHARS.decode(ids)


def test_token_level_pieces_are_space_separated_after_the_prime():
    script = script_of(ANBN, ["a", "b", "b"])
    assert written(ScriptedEngine(script, len(ANBN)), ANBN, prime="a", length=3, argmax=True) == (
        " a b b"
    )
    assert written(ScriptedEngine(script, len(ANBN)), ANBN, length=3, argmax=True) == "a b b"


# --------------------------------------------------------------------------- a real engine
def tiny_engine(cell="lstm", input_kind="onehot", seed=0):
    spec = ModelSpec(
        input_size=len(CHARS),
        output_size=len(CHARS),
        cell=cell,
        hidden_size=8,
        input_kind=input_kind,
        dtype="float64",
    )
    return NumpyEngine(spec, seed=seed)


def greedy_by_recomputation(engine, vocab, prime, length, context=None):
    """Argmax continuation that re-reads the last ``context`` ids (all: None) at every step."""
    ids = list(vocab.encode(prime))
    for _ in range(length):
        window = ids if context is None else ids[-context:]
        logits, _ = engine.forward(np.array(window)[:, None], None)  # (T, 1, V)
        ids.append(sample_next(logits[-1, 0], None, argmax=True, banned=(PAD, UNK)))
    return vocab.decode(ids[len(prime) :])


@pytest.mark.parametrize("cell, input_kind", [("lstm", "onehot"), ("gru", "embedding")])
def test_numpy_engine_greedy_text_equals_full_recomputation(cell, input_kind):
    engine = tiny_engine(cell, input_kind)
    text = written(engine, CHARS, prime="hel", length=12, argmax=True)
    assert text == greedy_by_recomputation(engine, CHARS, "hel", 12)
    # the model's output depends on its past, so a sampler that lost the state would differ
    assert text != greedy_by_recomputation(engine, CHARS, "hel", 12, context=1)


def test_numpy_engine_same_seed_same_text_and_limits_equal_argmax():
    engine = tiny_engine()
    a = written(engine, CHARS, prime="wor", length=40, seed=11, temperature=1.5)
    b = written(tiny_engine(), CHARS, prime="wor", length=40, seed=11, temperature=1.5)
    c = written(engine, CHARS, prime="wor", length=40, seed=12, temperature=1.5)
    assert a == b and a != c
    greedy = written(engine, CHARS, prime="wor", length=40, argmax=True)
    assert written(engine, CHARS, prime="wor", length=40, seed=1, top_k=1) == greedy
    assert written(engine, CHARS, prime="wor", length=40, seed=2, temperature=1e-6) == greedy


# --------------------------------------------------------------------------- the fast path
class ForwardOnly:
    """An engine seen through ``forward`` alone: generate takes the general, per-token path."""

    def __init__(self, engine):
        self.engine = engine

    def forward(self, inputs, state=None):
        return self.engine.forward(inputs, state)


def random_engine(cell, input_kind="onehot", num_layers=1, nonlinearity="tanh", seed=0):
    """A float64 engine whose random weights make peaked, state-dependent distributions."""
    spec = ModelSpec(
        input_size=len(CHARS), output_size=len(CHARS), cell=cell, nonlinearity=nonlinearity,
        hidden_size=16, num_layers=num_layers, input_kind=input_kind, dtype="float64",
    )  # fmt: skip
    engine = NumpyEngine(spec, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for p in engine.model.params.values():
        p[...] = rng.normal(scale=0.8, size=p.shape)
    return engine


SAMPLING = [
    {"temperature": 1.0},
    {"temperature": 0.6, "top_k": 4},
    {"temperature": 1.7},
    {"argmax": True},
]


@pytest.mark.parametrize(
    "options", SAMPLING, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
@pytest.mark.parametrize(
    "cell, input_kind, num_layers, nonlinearity",
    [
        ("lstm", "onehot", 1, "tanh"),
        ("lstm", "embedding", 2, "tanh"),
        ("gru", "onehot", 2, "tanh"),
        ("gru", "embedding", 1, "tanh"),
        ("rnn", "onehot", 1, "relu"),
        ("rnn", "embedding", 3, "tanh"),
    ],
)
def test_the_stepper_writes_what_the_general_path_writes(
    cell, input_kind, num_layers, nonlinearity, options
):
    engine = random_engine(cell, input_kind, num_layers, nonlinearity)
    assert engine.stepper() is not None
    kw = dict(prime="hello", length=300, seed=17, **options)
    fast = list(generate(engine, CHARS, **kw))  # one piece per token at char level
    assert fast == list(generate(ForwardOnly(engine), CHARS, **kw))
    assert len(fast) == 300 and len(set(fast)) > (1 if options.get("argmax") else 4)


def test_the_numpy_engine_reads_the_prime_in_one_forward_call_then_steps(monkeypatch):
    engine = random_engine("lstm")
    calls = []
    forward = engine.forward
    monkeypatch.setattr(engine, "forward", lambda *args: calls.append(args) or forward(*args))
    assert len(list(generate(engine, CHARS, prime="hel", length=50, seed=0))) == 50
    assert len(calls) == 1 and calls[0][0].shape == (3, 1)


def test_a_model_without_a_stepper_falls_back_to_forward_per_token(monkeypatch):
    spec = ModelSpec(input_size=len(CHARS), output_size=len(CHARS), cell="peephole_lstm",
                     hidden_size=8, dtype="float64")  # fmt: skip
    engine = NumpyEngine(spec, seed=0)
    assert engine.stepper() is None
    calls = []
    forward = engine.forward
    monkeypatch.setattr(engine, "forward", lambda *args: calls.append(args) or forward(*args))
    text = written(engine, CHARS, prime="hel", length=20, seed=3)
    assert len(calls) == 20  # the prime, then one call per token but the last
    assert text == written(ForwardOnly(engine), CHARS, prime="hel", length=20, seed=3)


@pytest.mark.parametrize("options", SAMPLING[:2] + SAMPLING[3:], ids=["t1", "topk", "argmax"])
def test_both_engines_write_the_same_text_for_the_same_seed(options):
    torch_engine = pytest.importorskip("rnnlab.torch.engine")
    numpy_engine = random_engine("gru", "embedding", num_layers=2)
    other = torch_engine.TorchEngine(numpy_engine.spec, seed=0)  # no stepper: forward per token
    other.load_state_dict(numpy_engine.state_dict())
    kw = dict(prime="world", length=200, seed=8, **options)
    assert written(other, CHARS, **kw) == written(numpy_engine, CHARS, **kw)
