"""``sebench <command>``: dispatch to one module per command.

Command modules are imported lazily so ``sebench --help`` and light commands start
fast (torch is only imported by the commands that need it). Each module provides
``build_parser(prog)`` and ``run(args, overrides)``.
"""
import difflib
import importlib
import sys
from collections import namedtuple

Command = namedtuple("Command", "module summary")

#: name -> (module, one-line summary); the single list `sebench --help` prints.
COMMANDS = {
    "data": Command("sebench.cli.data", "Kaldi-style data dirs: validate, fix, subset, split, "
                                        "combine, from-folder, info, format"),
    "prepare": Command("sebench.cli.prepare", "a corpus in its release layout -> data dirs"),
    "synth-corpus": Command("sebench.cli.synth_corpus", "build the self-contained corpus offline: "
                                                        "espeak-ng speech and generated noise"),
    "rir": Command("sebench.cli.rir", "simulate room impulse responses (pyroomacoustics ISM or "
                                      "hybrid), with RT60/DRR metadata"),
    "simulate": Command("sebench.cli.simulate", "DNS-style noisy/reverberant mixtures, or a "
                                                "real-like unpaired set"),
    "train": Command("sebench.cli.train", "train SE models: supervised and quality-guided methods on "
                                          "one trainer (resume, DDP, AMP)"),
    "label": Command("sebench.cli.label", "quality labels for a data dir: DNSMOS, true PESQ, "
                                          "human MOS CSV, or a trained predictor"),
    "train-qp": Command("sebench.cli.train_qp", "train a quality predictor (cnn, blstm, cnn_blstm, "
                                                "pesqnet; robust_q) and test LCC/SRCC/MSE"),
    "enhance": Command("sebench.cli.enhance", "enhance files/folders/scp/data dirs with a trained "
                                              "model (chunked, batched, sharded)"),
    "pack": Command("sebench.cli.pack", "bundle a trained model into one zip for enhance"),
    "score": Command("sebench.cli.score", "score enhanced audio: PESQ, STOI, SI-SDR, BSS-eval, "
                                          "CSIG/CBAK/COVL, DNSMOS; robust and parallel"),
    "report": Command("sebench.cli.report", "one RESULTS.md table from several systems' scores"),
    "recipe": Command("sebench.cli.recipe", "recipe helpers for se.sh: effective configs "
                                            "(overlays), a stage's items, the systems"),
    "score-stats": Command("sebench.cli.score_stats", "predictor accuracy (LCC, SRCC, MSE, scatter) "
                                                      "and Wilcoxon tests between systems"),
    "plot-sweep": Command("sebench.cli.plot_sweep", "metric X vs metric Y across a hyper-parameter "
                                                    "sweep (paper 004's Fig. 2)"),
    "encoder-norms": Command("sebench.cli.encoder_norms", "encoder output norms for clean vs "
                                                          "noise input (paper 004's Table IV)"),
    "vq-margin": Command("sebench.cli.vq_margin", "paper 001: a VQ-VAE's triplet margin against "
                                                  "SNR (figure and numbers)"),
    "plot-margins": Command("sebench.cli.plot_margins", "paper 001's Fig. 5: the triplet margin "
                                                        "vs SNR of several VQ-VAEs, one line each"),
    "grid-sweep": Command("sebench.cli.grid_sweep", "train every point of an option grid and "
                                                    "pick the best on the validation set"),
    "plot-lines": Command("sebench.cli.plot_lines", "metrics or improvements against a swept "
                                                    "parameter, one line per system family"),
    "plot-curves": Command("sebench.cli.plot_curves", "training curves of several experiments "
                                                      "(paper 000 Figs. 1-3: teacher vs DNSMOS)"),
    "plot-spectrogram": Command("sebench.cli.plot_spectrogram", "one utterance's log-mel "
                                "spectrograms per system and encoder feature maps (paper 004 "
                                "Figs. 3-4)"),
    "pesqnet-accuracy": Command("sebench.cli.pesqnet_accuracy", "paper 002: PESQNet's MAE/LCC "
                                "on noisy and enhanced speech (Tables I-II, Figs. 7-8)"),
    "pesqnet-curves": Command("sebench.cli.pesqnet_curves", "paper 002: J_total, PESQNet MAE "
                              "and true PESQ per epoch of <1-1> (Figs. 9-12)"),
}

USAGE = """usage: sebench [--version] [--debug] <command> [options]

Train and benchmark speech enhancement from real noisy speech and simulated pairs.

commands:
{table}

Every command takes --help (with an example). Options resolve as
defaults < --config FILE.yaml < command-line flags and --section.key overrides.
--debug shows the Python traceback when a command fails.
"""


def _print_usage(stream=sys.stdout):
    width = max(len(n) for n in COMMANDS)
    table = "\n".join(f"  {name:<{width}}  {cmd.summary}" for name, cmd in COMMANDS.items())
    stream.write(USAGE.format(table=table))


def main(argv=None):
    from sebench.errors import SebenchError
    from sebench.utils.log import setup_logging

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    if not argv or argv[0] in ("-h", "--help", "help"):
        _print_usage()
        return 0
    if argv[0] == "--version":
        from sebench.version import version_string
        print(version_string())
        return 0
    name = argv[0]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        sys.stderr.write(f"sebench: error: unknown command '{name}'{hint}; see `sebench --help`\n")
        return 2
    setup_logging(verbose=debug)
    module = importlib.import_module(COMMANDS[name].module)
    parser = module.build_parser(f"sebench {name}")
    try:
        args, rest = parser.parse_known_args(argv[1:])
        return int(module.run(args, rest) or 0)
    except SebenchError as e:
        if debug:
            raise
        _error_line(f"sebench {name}: error: {e}")
        if getattr(e, "details", None):     # e.g. the expected tree of a corpus root
            sys.stderr.write(e.details.rstrip("\n") + "\n")
        return 1
    except KeyboardInterrupt:
        _error_line(f"sebench {name}: interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - last resort: one line, traceback with --debug
        if debug:
            raise
        if isinstance(e, OSError) and e.filename and e.strerror:   # disk or permission trouble
            _error_line(f"sebench {name}: error: {e.filename}: {e.strerror}")
            return 1
        _error_line(f"sebench {name}: internal error: {type(e).__name__}: {e} "
                    "(rerun with --debug for the traceback)")
        return 1


def _error_line(text):
    """The error on a line of its own (never glued to a progress bar), and on one line."""
    from sebench.utils.log import end_progress_line
    end_progress_line()
    sys.stderr.write(" ".join(str(text).split("\n")) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
