"""What ``rnnlab generate RUN --input TEXT`` does with an encoder–decoder run: split the text
into sources (the task decides: g2p reads words, a TSV run reads lines), decode each
(greedy, or beam search with ``beam`` > 1) and give back its output as text."""


def translate(
    task, engine, text: str, beam: int = 1, length_penalty: float = 1.0
) -> list[tuple[str, str]]:
    """``(source, output)`` for each source in ``text``, in order; InputError for a token
    the model cannot read (before anything is decoded)."""
    if beam < 1:
        from rnnlab.errors import InputError

        raise InputError(f"--beam must be a positive integer, got {beam}")
    inputs = task.split_inputs(text)
    sources = [task.encode_source(item) for item in inputs]
    hypotheses = task.decode(engine, sources, beam=beam, length_penalty=length_penalty)
    return [
        (item, task.format_target(h.tokens)) for item, h in zip(inputs, hypotheses, strict=True)
    ]
