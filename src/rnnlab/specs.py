"""Which spec a saved model entry describes: a ModelSpec or an encoder–decoder's Seq2SeqSpec.

``config.json``'s ``model`` entry of an encoder–decoder carries ``"kind": "seq2seq"``
(:meth:`rnnlab.seq2seq.spec.Seq2SeqSpec.to_dict`); every other entry — every run made before
encoder–decoders existed among them — is a ModelSpec and loads exactly as it always has.
"""

from rnnlab.model import ModelSpec
from rnnlab.seq2seq.spec import Seq2SeqSpec

SEQ2SEQ_KIND = "seq2seq"


def spec_from_dict(model: dict) -> ModelSpec | Seq2SeqSpec:
    """The spec of a saved model entry; InputError for settings it refuses."""
    if model.get("kind") == SEQ2SEQ_KIND:
        return Seq2SeqSpec.from_dict(model)
    return ModelSpec.from_dict(model)
