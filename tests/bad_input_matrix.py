"""The bad-input matrix of issue 12: every bad input against every command, as a table.

Each case is one bad file (or a bad text file, or a bad output disk) among three good
utterances; each cell runs one real `sebench` command on it and records the exit code and
what the user sees (the error line, or how the bad utterance came out). Needs root and
`unshare -m` for the full/read-only disk rows (they are skipped otherwise). Takes 15-30
minutes on 2 cores; the fast regression tests are in tests/test_bad_inputs.py.
Run: .venv/bin/python tests/bad_input_matrix.py [--out matrix.md] [--cases nan_start,bom]
"""
import argparse
import csv
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
FS = 16000
COMMANDS = ("from-folder", "validate", "validate --samples", "score", "enhance", "label",
            "train", "train-qp", "simulate")


def tone(seconds, seed, fs=FS):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    return (0.2 * np.sin(2 * np.pi * (200 + 40 * seed) * t)
            + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def _nan_at(seconds, value=np.nan):
    x = tone(1.5, 7)
    x[int(seconds * FS)] = value
    return x


# name -> (what the bad file is, writer(path) or None for text/disk cases)
CASES = {
    "silent": ("digital silence", lambda p: sf.write(p, np.zeros(FS, np.float32), FS)),
    "short": ("10 ms long", lambda p: sf.write(p, tone(0.01, 7), FS)),
    "clipped": ("full-scale square wave", lambda p: sf.write(
        p, np.sign(tone(1.5, 7)).astype(np.float32), FS)),
    "nan_mid": ("NaN at 0.8 s", lambda p: sf.write(p, _nan_at(0.8), FS, subtype="FLOAT")),
    "nan_start": ("NaN at 20 ms", lambda p: sf.write(p, _nan_at(0.02), FS, subtype="FLOAT")),
    "inf": ("+inf sample", lambda p: sf.write(p, _nan_at(0.5, np.inf), FS, subtype="FLOAT")),
    "wrong_rate": ("8 kHz", lambda p: sf.write(p, tone(1.5, 7, 8000), 8000)),
    "stereo": ("2 channels", lambda p: sf.write(p, np.stack([tone(1.5, 7)] * 2, 1), FS)),
    "unreadable": ("random bytes", lambda p: p.write_bytes(os.urandom(3000))),
    "empty": ("0 samples", lambda p: sf.write(p, np.zeros((0,), np.float32), FS)),
    "truncated": ("WAV cut at half", None),
    "missing": ("wav.scp names a missing file", None),
    "utf8_space_name": ("file 'café nº 1.wav'", None),
    "bom": ("wav.scp with a UTF-8 BOM", None),
    "crlf": ("wav.scp with CRLF line ends", None),
    "latin1": ("wav.scp not UTF-8", None),
    "tmp_leftover": ("hidden .x.wav.<rand>.tmp.wav left by a kill", None),
    "full_disk": ("output disk full", None),
    "ro_disk": ("output disk read-only", None),
}
FOLDER_LESS = {"missing", "bom", "crlf", "latin1"}           # only data dirs can say these
DISK = {"full_disk", "ro_disk"}


class Matrix:
    def __init__(self, root):
        self.root = root
        self.env = dict(os.environ, SEBENCH_NO_PROGRESS="1", OMP_NUM_THREADS="1",
                        SEBENCH_CACHE_DIR=str(root / "cache"))
        self.clean = root / "clean"
        self.noise = root / "noise"
        for i in range(3):
            self._write(self.clean / f"g{i}.wav", tone(1.5, i))
        rng = np.random.default_rng(9)
        self._write(self.noise / "n.wav", (0.05 * rng.standard_normal(3 * FS)).astype(np.float32))
        base = self.case_dir("good", None)
        self.model = root / "model"
        self.sebench("train", "--train", base["data"], "--model-config",
                     REPO / "conf/models/cnn_blstm_tiny.yaml", "--exp", self.model,
                     "--train.max_steps", 1, "--train.epochs", 0, "--data.batch_size", 2,
                     "--optim.se.lr", 1e-3, check=True)

    @staticmethod
    def _write(path, audio):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, FS)
        return path

    def case_dir(self, name, writer):
        """noisy/ folder (three good files + the bad one) and data/ (wav, clean, utt2mos)."""
        top = self.root / name
        noisy = top / "noisy"
        files = {}
        for i in range(3):
            files[f"g{i}"] = self._write(noisy / f"g{i}.wav",
                                         tone(1.5, i) + 0.05 * tone(1.5, 10 + i))
        bad_key = "g0"          # the text cases concern the first key
        if writer is not None:
            bad_key = "bad"
            files[bad_key] = noisy / "bad.wav"
            writer(files[bad_key])
        elif name == "truncated":
            bad_key = "bad"
            whole = self._write(top / "whole.wav", tone(1.5, 7)).read_bytes()
            files[bad_key] = noisy / "bad.wav"
            files[bad_key].write_bytes(whole[:len(whole) // 2])
        elif name == "missing":
            bad_key = "bad"
            files[bad_key] = noisy / "no_such_file.wav"
        elif name == "utf8_space_name":
            bad_key = "café_nº_1"
            files[bad_key] = self._write(noisy / "café nº 1.wav", tone(1.5, 7))
        elif name == "tmp_leftover":
            shutil.copy(files["g0"], noisy / ".g0.wav.k1ll3d00.tmp.wav")
        data = top / "data"
        data.mkdir(parents=True, exist_ok=True)
        keys = sorted(files)
        wav = "".join(f"{k} {files[k]}\n" for k in keys)
        clean = "".join(f"{k} {self.clean / f'g{keys.index(k) % 3}.wav'}\n" for k in keys)
        if name == "bom":
            wav = "\ufeff" + wav
        (data / "wav.scp").write_bytes(wav.replace("\n", "\r\n" if name == "crlf" else "\n")
                                       .encode("utf-8"))
        if name == "latin1":
            (data / "wav.scp").write_bytes(wav.replace("g2 ", "g2_\xe9 ").encode("latin-1"))
        (data / "clean.scp").write_text(clean)
        (data / "utt2mos").write_text("".join(f"{k} {2 + keys.index(k) % 3}\n" for k in keys))
        return {"noisy": noisy, "data": data, "bad": bad_key}

    def sebench(self, *args, check=False, disk=None, mount=None):
        argv = [sys.executable, "-m", "sebench.cli.main", *map(str, args)]
        if disk:
            where = shlex.quote(str(mount))
            mount.mkdir(parents=True, exist_ok=True)
            prep = (f"mount -t tmpfs -o size=1m tmpfs {where} && (head -c 2M /dev/zero > "
                    f"{where}/.fill; true)" if disk == "full_disk"
                    else f"mount -t tmpfs -o ro,size=64k tmpfs {where}")
            argv = ["unshare", "-m", "sh", "-c",
                    f"{prep} && exec " + " ".join(shlex.quote(a) for a in argv)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=self.root)
        if check and proc.returncode:
            raise SystemExit(f"setup failed: {' '.join(argv)}\n{proc.stderr[-3000:]}")
        return proc

    def run_cell(self, case, command, d):
        out = self.root / case / "out" / command.replace(" ", "_")
        disk = case if case in DISK else None
        mount = self.root / case / "out"
        data, noisy = d["data"], d["noisy"]
        if case == "tmp_leftover" and command not in ("from-folder",):
            out.mkdir(parents=True, exist_ok=True)            # a killed earlier run's leftover
            shutil.copy(noisy / "g0.wav", out / ".g1.wav.d34db33f.tmp.wav")
        if command == "from-folder":
            if case in FOLDER_LESS:
                return "n/a"
            p = self.sebench("data", "from-folder", noisy, out, disk=disk, mount=mount)
            return self._summary(p, lambda: f"{len((out / 'wav.scp').read_text().splitlines())} "
                                            "utterances listed")
        if command.startswith("validate"):
            if disk:
                return "n/a (writes nothing)"
            p = self.sebench("data", "validate", data, *command.split()[1:])
            lines = [ln.strip() for ln in p.stdout.splitlines()[1:]]
            shown = [ln for ln in lines if d["bad"] in ln or "wav.scp" in ln] or lines
            return f"{p.returncode}: " + (_short(shown[0]) if shown else "0 problems")
        if command == "score":
            p = self.sebench("score", "--enh", data, "--ref", data, "--metrics", "sisdr,stoi",
                             "--out", out, disk=disk, mount=mount)
            return self._summary(p, lambda: self._score_row(out / "scores.csv", d["bad"]))
        if command == "enhance":
            p = self.sebench("enhance", self.model, data, "-o", out, disk=disk, mount=mount)
            return self._summary(p, lambda: self._enhance_state(out, d["bad"]))
        if command == "label":
            p = self.sebench("label", data, "--source", "dnsmos", "--out", out, disk=disk,
                             mount=mount)
            return self._summary(p, lambda: self._label_state(out, d["bad"]))
        if command == "train":
            p = self.sebench("train", "--train", data, "--valid", data, "--model-config",
                             REPO / "conf/models/cnn_blstm_tiny.yaml", "--exp", out,
                             "--train.epochs", 2, "--data.batch_size", 2, "--data.segment", 0.5,
                             "--optim.se.lr", 1e-3, disk=disk, mount=mount)
            return self._summary(p, lambda: "trained" + self._leftovers(out))
        if command == "train-qp":
            p = self.sebench("train-qp", "--train", data, "--valid", data, "--qp-config",
                             REPO / "conf/qp/cnn_tiny.yaml", "--exp", out, "--train.epochs", 2,
                             "--data.batch_size", 2, "--optim.q.lr", 1e-3, disk=disk, mount=mount)
            return self._summary(p, lambda: "trained" + self._leftovers(out))
        if command == "simulate":
            p = self.sebench("simulate", "--clean", data, "--noise", self.noise, "--out", out,
                             "--snr-range", 0, 10, disk=disk, mount=mount)
            return self._summary(p, lambda: f"{len((out / 'wav.scp').read_text().splitlines())} "
                                            "mixtures" + self._leftovers(out))
        raise AssertionError(command)

    @staticmethod
    def _summary(proc, on_success):
        if proc.returncode == 0:
            try:
                return "0: " + on_success()
            except OSError as e:
                return f"0: (no output: {e.strerror})"
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else "(no message)"
        for prefix in ("sebench ",):
            if last.startswith(prefix) and ": error: " in last:
                last = last.split(": error: ", 1)[1]
        return f"{proc.returncode}: {_short(last)}"

    @staticmethod
    def _score_row(path, key):
        for row in csv.DictReader(open(path, encoding="utf-8")):
            if row["key"] == key:
                if row["error"]:
                    return f"bad scored NaN: {_short(row['error'], 70)}"
                return f"bad scored (sisdr {row['sisdr']})" + (
                    f", warning: {_short(row['warning'], 50)}" if row["warning"] else "")
        return "bad not in scores.csv"

    def _enhance_state(self, out, key):
        wrote = (out / f"{key}.wav").exists()
        return ("bad enhanced" if wrote else "bad not written") + self._leftovers(out)

    def _label_state(self, out, key):
        labels = (out / "utt2dnsmos_p808").read_text(encoding="utf-8")
        has = any(line.split()[0] == key for line in labels.splitlines())
        return ("bad labelled" if has else "bad left unlabelled") + self._leftovers(out)

    @staticmethod
    def _leftovers(out):
        hidden = [p.name for p in Path(out).rglob(".*tmp*")] if Path(out).exists() else []
        return f"; {len(hidden)} temporary file(s) left" if hidden else ""


def _short(text, width=110):
    text = " ".join(str(text).split())
    for long_path in (str(Path(tempfile.gettempdir())),):
        text = text.replace(long_path, "…")
    return text if len(text) <= width else text[:width - 1] + "…"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the markdown table here too")
    ap.add_argument("--cases", help="comma list of case names (default: all)")
    ap.add_argument("--commands", help="comma list of commands (default: all)")
    opts = ap.parse_args()
    cases = opts.cases.split(",") if opts.cases else list(CASES)
    commands = opts.commands.split(",") if opts.commands else list(COMMANDS)
    can_mount = os.geteuid() == 0 and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0
    with tempfile.TemporaryDirectory(prefix="sebench_matrix_") as tmp:
        m = Matrix(Path(tmp))
        lines = ["| case | " + " | ".join(commands) + " |",
                 "|---|" + "---|" * len(commands)]
        for case in cases:
            what, writer = CASES[case]
            if case in DISK and not can_mount:
                lines.append(f"| {case} ({what}) | " + " | ".join("skipped (no mount)"
                                                                for _ in commands) + " |")
                continue
            d = m.case_dir(case, writer)
            cells = [m.run_cell(case, c, d).replace("|", "\\|") for c in commands]
            lines.append(f"| {case} ({what}) | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    print("\n" + table)
    if opts.out:
        Path(opts.out).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
