"""Flags generated from the settings they set: a ModelSpec or TrainConfig field, a task option.

Every setting has one flag, named after it (``batch_size`` ↔ ``--batch-size``; the few
short names are :data:`rnnlab.train.options.MODEL_FLAGS`: ``--hidden``, ``--layers``),
read as its annotation says (``int | None`` → an integer; ``bool`` → ``--x/--no-x``), and
explained in one place: a field by the ``Attributes:`` entry of its class's docstring, a
task option by its task's ``option_help``. A new field gets its flag with no edit here, and
a help text saying whose setting it is until its docstring describes it. Every flag
defaults to None, which means "not given": the task's default, or the config file's, holds.
"""

import inspect
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, NamedTuple

import click

from rnnlab.model import ModelSpec
from rnnlab.train.config import TrainConfig
from rnnlab.train.options import MODEL_FLAGS

# The off switch of a bool flag, where ``--no-NAME`` would read badly.
OFF_SWITCHES = {"bidirectional": "unidirectional"}
CLICK_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


class Setting(NamedTuple):
    """One flag: ``key`` is its name with underscores and the key of its value."""

    key: str  # "hidden" for --hidden
    kind: Any  # the setting's type annotation: int, float | None, bool ...
    help: str
    section: str  # the heading that --help lists it under


class Flag(click.Option):
    """An option that knows its heading in --help (see :class:`SectionedCommand`)."""

    def __init__(self, *args, section: str = "Options", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.section = section


class SectionedCommand(click.Command):
    """A command whose --help lists its options under headings (Model, Training, ...)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and isinstance(param, click.Option):
                sections.setdefault(getattr(param, "section", "Options"), []).append(record)
        sections["Options"] = sections.pop("Options", [])  # --help last
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


def field_docs(cls: type) -> dict[str, str]:
    """``{field: text}`` from the ``Attributes:`` section of ``cls``'s docstring (Google
    style: ``name: text``, continued on more deeply indented lines), each on one line."""
    lines = iter(inspect.cleandoc(cls.__doc__ or "").splitlines())
    if not any(line.strip() == "Attributes:" for line in lines):  # reads up to the heading
        return {}
    docs: dict[str, str] = {}
    name, entry_indent = None, None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent == 0:  # the section ends
            break
        entry_indent = entry_indent or indent
        entry = re.fullmatch(r"(\w+): (.*)", line.strip())
        if indent == entry_indent and entry:
            name, docs[entry[1]] = entry[1], entry[2]
        elif name is not None:
            docs[name] += " " + line.strip()
    return docs


def dataclass_settings(
    cls: type, section: str, names: Iterable[str] | None = None, short: dict | None = None
) -> list[Setting]:
    """A setting per field of the dataclass ``cls`` (only ``names``, if given), in field
    order; ``short`` maps a field to its flag's name where they differ."""
    docs, hints, short = field_docs(cls), typing.get_type_hints(cls), short or {}
    keep = None if names is None else set(names)
    return [
        Setting(
            short.get(f.name, f.name),
            hints[f.name],
            _plain(docs[f.name]) if f.name in docs else f"Sets {cls.__name__}.{f.name}.",
            section,
        )
        for f in fields(cls)
        if keep is None or f.name in keep
    ]


def _plain(text: str) -> str:
    """A docstring's text as --help shows it: ``:mod:`x``` and ````x```` as x, capitalized."""
    text = re.sub(r"(?::\w+:)?`+([^`]+)`+", r"\1", text)
    return text[:1].upper() + text[1:]


def model_settings(names: Iterable[str] | None = None) -> list[Setting]:
    """The ModelSpec fields (only ``names``, if given), by their flags' names."""
    short = {field: flag for flag, field in MODEL_FLAGS.items()}
    return dataclass_settings(ModelSpec, "Model", names, short)


def seq2seq_settings(names: Iterable[str]) -> list[Setting]:
    """The Seq2SeqSpec fields ``names`` (those no ModelSpec has: --attention, --bridge...),
    explained by its docstring like every other field."""
    from rnnlab.seq2seq.spec import Seq2SeqSpec

    return dataclass_settings(Seq2SeqSpec, "Model", names)


def training_settings() -> list[Setting]:
    """Every TrainConfig field."""
    return dataclass_settings(TrainConfig, "Training")


def task_settings(tasks: dict[str, type], taken: Iterable[str] = ()) -> list[Setting]:
    """A setting per option of any of ``tasks`` (but those in ``taken``), whose help says
    what it means for which tasks: ``Bits to remember (copy).``"""
    taken, kinds = set(taken), {}
    meanings: dict[str, dict[str, list[str]]] = {}  # option -> its help text -> tasks
    for name, task in tasks.items():
        for key, kind in task.option_types.items():
            if key in taken:
                continue
            kinds.setdefault(key, kind)
            text = task.option_help.get(key, "").rstrip(".") or "A task option"
            meanings.setdefault(key, {}).setdefault(text, []).append(name)
    return [Setting(key, kinds[key], _task_help(meanings[key]), "Task") for key in kinds]


def _task_help(meanings: dict[str, list[str]]) -> str:
    return "; ".join(f"{text} ({', '.join(names)})" for text, names in meanings.items()) + "."


def value_type(kind: Any) -> Any:
    """The type a flag reads its value as: ``int | None`` → ``int``."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if len(args) == 1 else kind


def add_flags(settings: list[Setting], extra_help: dict[str, str] | None = None) -> Callable:
    """A decorator that gives a click command a flag per setting, each defaulting to None;
    ``extra_help`` adds what the command itself does with a setting."""
    extra_help = extra_help or {}

    def decorate(command: Callable) -> Callable:
        for setting in reversed(settings):
            text = " ".join(filter(None, [setting.help, extra_help.get(setting.key)]))
            option = click.option(
                *_declarations(setting), **_reading(setting), default=None, help=text,
                cls=Flag, section=setting.section,
            )  # fmt: skip
            command = option(command)
        return command

    return decorate


def flag_name(key: str) -> str:
    """``batch_size`` → ``--batch-size``."""
    return "--" + key.replace("_", "-")


def _declarations(setting: Setting) -> tuple[str, str]:
    name = flag_name(setting.key)
    if value_type(setting.kind) is bool:
        off = flag_name(OFF_SWITCHES.get(setting.key, "no_" + setting.key))
        name = f"{name}/{off}"
    return name, setting.key


def _reading(setting: Setting) -> dict:
    kind = value_type(setting.kind)
    return {} if kind is bool else {"type": CLICK_TYPES.get(kind, click.STRING)}
