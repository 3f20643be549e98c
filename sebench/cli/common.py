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


def resolve_config(defaults, args, rest, flag_keys=()):
    """Resolve a command's config from defaults, --config, flags and dotted overrides.

    ``flag_keys`` lists (argparse dest, dotted config key) pairs for explicit flags.
    Prints the config and exits when --print-config was given.
    """
    flags = {key: getattr(args, dest, None) for dest, key in flag_keys}
    cfg = cfgmod.resolve(defaults, getattr(args, "config", None), flags,
                         cfgmod.parse_overrides(rest))
    if getattr(args, "print_config", False):
        sys.stdout.write(cfgmod.dump_config(cfg))
        raise SystemExit(0)
    return cfg


def no_extra_args(rest):
    if rest:
        raise ConfigError(f"unrecognized arguments: {' '.join(rest)}")


def command_line():
    return "sebench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
