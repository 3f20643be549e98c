"""Helpers shared by command modules: parsers with examples, config resolution."""
import argparse
import shlex
import sys

from sebench import config as cfgmod
from sebench.errors import ConfigError


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def make_parser(prog, description, example, **kwargs):
    epilog = "example:\n" + "\n".join("  " + line for line in example.strip().splitlines())
    return argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                   formatter_class=_Formatter, **kwargs)


def add_config_options(parser):
    """--config FILE and --print-config; dotted overrides come from the unparsed rest."""
    parser.add_argument("--config", metavar="FILE.yaml",
                        help="YAML config merged over the defaults (flags and --section.key "
                             "overrides win)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config and exit")


def resolve_config(defaults, args, rest, flag_keys=(), checks=None, validate=None):
    """Resolve a command's config from defaults, --config, flags and dotted overrides.

    ``flag_keys`` lists (argparse dest, dotted config key) pairs for explicit flags;
    ``checks`` the command's value rules (see :mod:`sebench.config`); ``validate(cfg)`` the
    command's further checks, run before --print-config prints (it fails where a run would).
    Prints the config and exits when --print-config was given.
    """
    flags = {key: getattr(args, dest, None) for dest, key in flag_keys}
    cfg = cfgmod.resolve(defaults, getattr(args, "config", None), flags,
                         cfgmod.parse_overrides(rest), checks=checks)
    if validate:
        validate(cfg)
    if getattr(args, "print_config", False):
        sys.stdout.write(cfgmod.dump_config(cfg))
        raise SystemExit(0)
    return cfg


def number_list(text):
    """argparse type: ``"-5,0,5"`` -> [-5.0, 0.0, 5.0], with a message naming the bad item."""
    values = []
    for item in str(text).split(","):
        try:
            values.append(float(item))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated numbers, got {item.strip()!r} in {text!r}") from None
    return values


def bounded(kind, lo=None, hi=None):
    """argparse type: ``kind`` (int or float) within [lo, hi], e.g. ``bounded(int, 1)``."""
    rule = cfgmod.Range(lo, hi, type=kind if kind is int else None)

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{rule.describe()}, got {text!r}") from None
        problem = rule(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
        return value
    parse.__name__ = kind.__name__     # argparse names the type in its own messages
    return parse


def no_extra_args(rest):
    if rest:
        raise ConfigError(f"unrecognized arguments: {' '.join(rest)}")


def command_line():
    return "sebench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
