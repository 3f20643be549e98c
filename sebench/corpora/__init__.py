"""Corpus preparation: a corpus in its release layout -> Kaldi-style data dirs.

``CORPORA`` maps the name given to ``sebench prepare`` to the module that knows the corpus.
Every module provides ``TITLE``, ``TREE`` (the expected layout as text), ``DEFAULTS`` (its
options; ``conf/corpora/<name>.yaml`` holds the documented split when there is one),
``HELP`` (one line per option) and ``prepare(root, cfg, output) -> [SetSummary]``. Audio is
never copied or decoded: scp files point into the corpus at its original rate and format, and
``sebench data format`` converts later.
"""
import difflib
import importlib
import os
from pathlib import Path

from sebench.corpora.writer import SetSummary, SetWriter, write_sets
from sebench.errors import ConfigError

CORPORA = {
    "vbd": "sebench.corpora.vbd",
    "dns": "sebench.corpora.dns",
    "daps": "sebench.corpora.daps",
    "vox2": "sebench.corpora.vox2",
    "iub": "sebench.corpora.iub",
    "esc50": "sebench.corpora.esc50",
}

#: the toolkit's own conf/ (split files live in conf/corpora/<name>.yaml)
TOOLKIT_CONF = Path(__file__).resolve().parents[2] / "conf"


def get_corpus(name):
    if name not in CORPORA:
        close = difflib.get_close_matches(name, CORPORA, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown corpus '{name}'{hint}; known: {', '.join(CORPORA)}")
    return importlib.import_module(CORPORA[name])


def split_config(name):
    """The toolkit's split file for a corpus (conf/corpora/<name>.yaml), or None."""
    path = TOOLKIT_CONF / "corpora" / f"{name}.yaml"
    return str(path) if path.is_file() else None


def default_config(name):
    """A corpus's option defaults with its toolkit split file merged over them."""
    from sebench import config as cfgmod
    defaults = get_corpus(name).DEFAULTS
    split = split_config(name)
    return cfgmod.merge(defaults, cfgmod.load_yaml(split)) if split else dict(defaults)


class Output:
    """Where prepared sets go: ``<out>/<prefix><set>``; ``probe`` reads durations from headers."""

    def __init__(self, out, prefix="", probe=True):
        self.out, self.prefix, self.probe = os.path.abspath(out), prefix or "", bool(probe)
        self.header_cache = {}  # each audio header is read once, however many sets list it

    def path(self, name):
        return os.path.join(self.out, self.prefix + name)

    def writer(self, name, probe=None):
        return SetWriter(self.path(name), probe=self.probe if probe is None else probe,
                         header_cache=self.header_cache)

    def write(self, sets, probe=None):
        """``{name: [(key, spk, fields), ...]}`` -> summaries (empty sets are skipped)."""
        sets = {name: utts for name, utts in sets.items() if utts}
        return write_sets(self.out, sets, probe=self.probe if probe is None else probe,
                          prefix=self.prefix, header_cache=self.header_cache)


def prepare(name, root, out, cfg, prefix="", probe=True, command=None, nj=1, cmd=None,
            shard=None, rows_out=None):
    """See :func:`_prepare`; a failed write under ``out`` (full or read-only disk) becomes
    ``cannot write PATH: <cause>``, never a skipped file."""
    from sebench.utils.fileio import write_failure
    try:
        return _prepare(name, root, out, cfg, prefix, probe, command, nj, cmd, shard, rows_out)
    except OSError as e:
        target = os.path.abspath(os.fspath(e.filename)) if e.filename else None
        failure = write_failure(target, e) if target and _inside(target, out) else None
        if failure is None:
            raise
        raise failure from None


def _inside(path, folder):
    folder = os.path.abspath(folder)
    return os.path.commonpath([path, folder]) == folder


def _prepare(name, root, out, cfg, prefix, probe, command, nj, cmd, shard, rows_out):
    """Prepare one corpus into ``out``; saves the resolved config as
    ``<out>/prepare_<prefix><name>.yaml`` and returns the sets' summaries. A corpus with
    ``SHARDED`` scans over ``nj`` jobs through ``cmd`` (see :mod:`sebench.corpora.jobs`);
    inside a shard job (``shard``, ``rows_out``) it returns None."""
    from sebench.config import save_config
    module = get_corpus(name)
    if getattr(module, "SHARDED", False):
        from sebench.corpora.jobs import shard_jobs
        jobs = shard_jobs(name, root, out, cfg, prefix, probe, nj, cmd, shard, rows_out)
        summaries = module.prepare(root, cfg, Output(out, prefix, probe), jobs=jobs)
        if shard:
            return None
    elif (nj or 1) > 1 or shard:
        raise ConfigError(f"sebench prepare {name} does not shard: drop --nj")
    else:
        summaries = module.prepare(root, cfg, Output(out, prefix, probe))
    record = {"corpus": name, "root": os.path.abspath(str(root)), "prefix": prefix,
              "durations": bool(probe), **cfg,
              "sets": {s.name: s.utterances for s in summaries}}
    save_config(record, os.path.join(out, f"prepare_{prefix}{name}.yaml"), command)
    return summaries


__all__ = ["CORPORA", "get_corpus", "split_config", "default_config", "prepare", "Output",
           "SetSummary", "SetWriter"]
