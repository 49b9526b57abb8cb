"""The flags of ``rnnlab train`` and ``rnnlab inspect`` are generated from the settings: one
flag per ModelSpec / TrainConfig field and per task option, typed from its annotation, its
help taken from the one place that describes it (the class docstring, the task's
``option_help``), and a field added tomorrow gets its flag with no edit to the CLI."""

from dataclasses import dataclass, fields

import click
import pytest
from click.testing import CliRunner

from rnnlab.cli import flags
from rnnlab.cli.tools import inspect
from rnnlab.cli.train import train
from rnnlab.model import ModelSpec
from rnnlab.tasks import TASKS
from rnnlab.train.config import TrainConfig
from rnnlab.train.options import MODEL_FIELDS, MODEL_FLAGS

FIELD_OF_FLAG = MODEL_FLAGS  # --hidden -> hidden_size, where a flag's name is short
TASK_DECIDES = {"input_size", "output_size", "loss"}  # the task's data sets these


def options_of(command: click.Command) -> dict[str, click.Option]:
    """``{setting key: option}`` of a command's options."""
    return {p.name: p for p in command.params if isinstance(p, click.Option)}


def field_of(key: str) -> str:
    return FIELD_OF_FLAG.get(key, key)


def test_every_model_and_training_field_has_exactly_one_flag_on_train():
    keys = [field_of(key) for key in options_of(train)]
    for field in [f.name for f in fields(ModelSpec) if f.name not in TASK_DECIDES]:
        assert keys.count(field) == 1, f"ModelSpec.{field} has {keys.count(field)} flags"
    for field in [f.name for f in fields(TrainConfig)]:
        assert keys.count(field) == 1, f"TrainConfig.{field} has {keys.count(field)} flags"
    assert not TASK_DECIDES & set(keys)
    assert MODEL_FIELDS == {f.name for f in fields(ModelSpec)} - TASK_DECIDES


def test_every_task_option_has_a_flag_on_train_and_every_model_field_one_on_inspect():
    names = {opt for option in options_of(train).values() for opt in option.opts}
    for task in TASKS.values():
        for key in task.option_types:
            assert flags.flag_name(key) in names, f"{task.name}'s option {key} has no flag"
    on_inspect = {field_of(key) for key in options_of(inspect)}
    assert on_inspect == {f.name for f in fields(ModelSpec)}


def test_the_short_names_are_the_one_mapping_and_the_long_ones_are_no_second_flag():
    names = {opt for option in options_of(train).values() for opt in option.opts}
    assert {"--hidden", "--layers", "--batch-size", "--bidirectional"} <= names
    assert {"--unidirectional", "--no-tie-weights", "--no-compile"} <= {
        opt for option in options_of(train).values() for opt in option.secondary_opts
    }
    assert not {"--hidden-size", "--num-layers"} & names


def test_a_fields_help_is_its_docstring_entry_joined_onto_one_line():
    docs = flags.field_docs(ModelSpec)
    assert docs["hidden_size"] == "H per direction."
    assert docs["cell"].startswith('"lstm", "gru", "rnn", "peephole_lstm" (gates also read')
    assert "\n" not in docs["cell"] and "  " not in docs["cell"]
    options = options_of(train)
    assert options["hidden"].help == "H per direction."
    assert options["layers"].help == "Stacked recurrent layers."  # capitalized for --help
    assert options["readout"].help.startswith("What the head sees (rnnlab.readouts):")
    assert options["lr"].help == "The learning rate (the peak of a schedule)."
    for setting in [*flags.model_settings(), *flags.training_settings()]:
        assert not setting.help.startswith("Sets "), (
            f"{setting.key}: describe it in its class docstring's Attributes section"
        )


def test_a_task_options_help_says_what_it_means_for_which_tasks():
    options = options_of(train)
    assert options["bits"].help == "Bits to remember (copy)."
    assert options["num"].help == "Sequences generated (anbn, anbnan, marker, reverse)."
    window = options["window"].help  # one flag, two meanings: each says whose it is
    assert window.startswith("Past values in each input window (sine); ") and "(marker)" in window


def test_a_task_option_shared_by_several_tasks_has_one_type():
    kinds: dict[str, set] = {}
    for task in TASKS.values():
        for key, kind in task.option_types.items():
            kinds.setdefault(key, set()).add(flags.value_type(kind))
    assert {key: k for key, k in kinds.items() if len(k) > 1} == {}


@dataclass(frozen=True)
class Spec:
    """A settings class as a new field would leave it.

    Attributes:
        width: how wide,
            over two lines.
    """

    width: int = 1
    shiny: bool = False
    depth: float | None = None  # documented nowhere


def run(command: click.Command, argv: list[str]) -> dict:
    result = CliRunner().invoke(command, argv, standalone_mode=False)
    assert result.exception is None, result.output
    return result.return_value


def test_a_new_field_gets_a_flag_of_its_type_and_a_help_text_without_docs():
    @click.command()
    @flags.add_flags(flags.dataclass_settings(Spec, "Model"))
    def command(**given):
        return given

    assert run(command, []) == {"width": None, "shiny": None, "depth": None}  # None: not given
    assert run(command, ["--width", "3", "--no-shiny", "--depth", "0.5"]) == {
        "width": 3, "shiny": False, "depth": 0.5,
    }  # fmt: skip
    helps = {key: option.help for key, option in options_of(command).items()}
    assert helps == {"width": "How wide, over two lines.", "shiny": "Sets Spec.shiny.",
                     "depth": "Sets Spec.depth."}  # fmt: skip
    result = CliRunner().invoke(command, ["--width", "wide"])
    assert result.exit_code == 2 and "'wide' is not a valid integer" in result.output


def test_a_field_added_to_model_spec_gets_a_flag():
    @dataclass(frozen=True)
    class Tomorrow(ModelSpec):
        readout_heads: int = 1

    settings = flags.dataclass_settings(Tomorrow, "Model")
    assert [s.key for s in settings][-1] == "readout_heads"
    assert settings[-1].help == "Sets Tomorrow.readout_heads."


@pytest.mark.parametrize("command", [train, inspect])
def test_help_lists_the_flags_under_headings(command):
    text = CliRunner().invoke(command, ["--help"], terminal_width=100).output
    headings = [
        line for line in text.splitlines() if line and line.endswith(":") and " " not in line
    ]
    expected = ["Model:", "Training:", "Task:", "Run:", "Options:"] if command is train else [
        "Model:", "Options:"]  # fmt: skip
    assert headings == expected, text
    assert "--hidden INTEGER" in text and "H per direction." in text


def test_the_encoder_decoders_own_settings_have_flags_explained_by_its_docstring():
    from rnnlab.seq2seq.spec import Seq2SeqSpec

    options = options_of(train)
    docs = flags.field_docs(Seq2SeqSpec)
    for key in ("attention", "input_feeding", "bridge", "decoder_hidden_size", "attention_size"):
        assert key in options and options[key].help == flags._plain(docs[key]), key
    assert "--no-input-feeding" in options["input_feeding"].secondary_opts
