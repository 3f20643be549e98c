import numpy as np
import pytest

from conftest import run_cli, tone, write_wav
from sebench.data import DataDir, DataDirError
from sebench.data import ops
from sebench.data.folder import from_folder
from sebench.data.validate import validate


def make_dir(tmp_path, n=6, spk=("s1", "s2"), fs=16000, name="d"):
    audio_dir = tmp_path / f"{name}_audio"
    wav, clean, utt2spk = {}, {}, {}
    for i in range(n):
        key = f"{spk[i % len(spk)]}_u{i:02d}"
        wav[key] = str(write_wav(audio_dir / f"{key}_noisy.wav", tone(0.2, fs=fs, seed=i), fs))
        clean[key] = str(write_wav(audio_dir / f"{key}_clean.wav", tone(0.2, fs=fs), fs))
        utt2spk[key] = spk[i % len(spk)]
    d = DataDir(tmp_path / name)
    d.write("wav.scp", wav)
    d.write("clean.scp", clean)
    d.write_utt2spk(utt2spk)
    d.write("utt2mos", {k: 3.0 + 0.1 * i for i, k in enumerate(sorted(wav))})
    return d


def test_roundtrip_sorted_and_iteration(tmp_path):
    d = make_dir(tmp_path)
    lines = (d.path / "wav.scp").read_text().splitlines()
    assert lines == sorted(lines, key=lambda s: s.encode())
    fresh = DataDir(d.path)
    assert len(fresh) == 6 and fresh.keys == sorted(fresh.keys)
    utts = list(fresh)
    assert utts[0].key == fresh.keys[0] and utts[0]["clean"].endswith("_clean.wav")
    assert utts[0].spk == "s1" and float(utts[0].meta["mos"]) == pytest.approx(3.0)
    assert fresh.read("spk2utt")["s1"].split() == [k for k in fresh.keys if k.startswith("s1")]
    with pytest.raises(DataDirError, match="invalid key"):
        d.write("bad", {"a b": 1})


def test_validate_clean_dir(tmp_path):
    report = validate(make_dir(tmp_path).path)
    assert report.ok, report.format()
    assert report.num_utts == 6


def test_validate_names_every_problem(tmp_path):
    d = make_dir(tmp_path)
    wav = (d.path / "wav.scp").read_text().splitlines()
    first_path = wav[0].split()[1]
    # unsorted + duplicate key in wav.scp
    (d.path / "wav.scp").write_text("\n".join([wav[1], wav[0]] + wav[1:]) + "\n")
    # a missing audio file
    clean = (d.path / "clean.scp").read_text().replace(
        (d.path / "clean.scp").read_text().splitlines()[2].split()[1], "/nonexistent/x.wav")
    (d.path / "clean.scp").write_text(clean)
    # a rate mismatch between wav.scp and clean.scp for the first utterance
    write_wav(first_path.replace("_noisy", "_clean"), tone(0.2, fs=8000), 8000)
    # an utterance missing from utt2spk
    u2s = (d.path / "utt2spk").read_text().splitlines()
    (d.path / "utt2spk").write_text("\n".join(u2s[:-1]) + "\n")
    report = validate(d.path)
    text = report.format()
    assert not report.ok
    assert "not sorted" in text
    assert "duplicate key" in text
    assert "/nonexistent/x.wav: file not found" in text
    assert "sample rates disagree" in text and "clean.scp=8000" in text
    assert "utt2spk: 1 utterance(s) of wav.scp missing" in text
    assert "spk2utt does not match utt2spk" in text
    out = run_cli("data", "validate", d.path, check=False)
    assert out.returncode == 1 and "not sorted" in out.stdout


def test_fix_repairs_and_keeps_backup(tmp_path):
    d = make_dir(tmp_path)
    u2s = (d.path / "utt2spk").read_text().splitlines()
    (d.path / "utt2spk").write_text("\n".join(reversed(u2s[:-1])) + "\n" + u2s[0] + "\n")
    result = ops.fix(d.path)
    assert result["kept"] == 5 and len(result["dropped"]) == 1 and result["duplicates"] == 1
    assert (tmp_path / "d/.backup").is_dir()
    assert validate(d.path).ok
    assert len(DataDir(d.path).read("clean.scp")) == 5


def test_subset_modes(tmp_path):
    d = make_dir(tmp_path, n=10)
    assert ops.subset(d.path, tmp_path / "f", first=3) == 3
    assert DataDir(tmp_path / "f").keys == d.keys[:3]
    ops.subset(d.path, tmp_path / "r1", random_n=4, seed=5)
    ops.subset(d.path, tmp_path / "r2", random_n=4, seed=5)
    assert DataDir(tmp_path / "r1").keys == DataDir(tmp_path / "r2").keys
    ops.subset(d.path, tmp_path / "s", speakers=["s2"])
    assert set(DataDir(tmp_path / "s").utt2spk().values()) == {"s2"}
    ops.subset(d.path, tmp_path / "k", keys=[d.keys[4], d.keys[1]])
    assert DataDir(tmp_path / "k").keys == [d.keys[1], d.keys[4]]
    assert validate(tmp_path / "k").ok
    with pytest.raises(DataDirError, match="asked for 20"):
        ops.subset(d.path, tmp_path / "x", random_n=20)


def test_split_and_combine_roundtrip(tmp_path):
    d = make_dir(tmp_path, n=10, spk=("a", "b", "c"))
    shards = ops.split(d.path, 3)
    assert [len(DataDir(s)) for s in shards] == [3, 3, 4]
    assert sum((DataDir(s).keys for s in shards), []) == d.keys
    spk_shards = ops.split(d.path, 3, per_speaker=True)
    speakers = [set(DataDir(s).utt2spk().values()) for s in spk_shards]
    assert all(len(s) == 1 for s in speakers) and len(set.union(*speakers)) == 3
    ops.combine(tmp_path / "comb", shards)
    comb = DataDir(tmp_path / "comb")
    assert comb.keys == d.keys and comb.read("clean.scp") == d.read("clean.scp")
    assert validate(comb.path).ok
    with pytest.raises(DataDirError, match="is in both"):
        ops.combine(tmp_path / "dup", [shards[0], shards[0]])
    with pytest.raises(DataDirError, match="cannot make 11 shards"):
        ops.split(d.path, 11)


def test_from_folder_pairs_by_relpath_then_name(tmp_path):
    noisy, clean = tmp_path / "noisy", tmp_path / "clean"
    write_wav(noisy / "spkA/u1.wav", tone(0.2))
    write_wav(clean / "spkA/u1.flac", tone(0.2))     # same relative path, other extension
    write_wav(noisy / "spkB/u2.wav", tone(0.3))
    write_wav(clean / "elsewhere/u2.wav", tone(0.3))  # unique file name
    write_wav(noisy / "spkB/u3.wav", tone(0.3))       # no partner
    write_wav(noisy / "spkC/x 1.wav", tone(0.1))
    write_wav(clean / "a/x 1.wav", tone(0.1))
    write_wav(clean / "b/x 1.wav", tone(0.1))          # ambiguous name: not paired
    s = from_folder(noisy, tmp_path / "out", clean_dir=clean)
    assert s["paired"] == 2 and s["noisy_without_clean"] == 2
    d = DataDir(tmp_path / "out")
    assert d.keys == ["spkA-u1", "spkB-u2"]
    assert d.read("clean.scp")["spkA-u1"].endswith("clean/spkA/u1.flac")
    assert d.utt2spk() == {"spkA-u1": "spkA", "spkB-u2": "spkB"}
    assert d.read("utt2num_samples")["spkB-u2"] == "4800"
    assert validate(d.path).ok
    from_folder(noisy, tmp_path / "nonly", spk_regex=r"^(u|x)")
    only = DataDir(tmp_path / "nonly")
    assert "spkC-x_1" in only.keys and only.utt2spk()["spkC-x_1"] == "x"
    with pytest.raises(DataDirError, match="no audio files"):
        from_folder(tmp_path / "out", tmp_path / "o2")


def test_info(tmp_path):
    d = make_dir(tmp_path, n=4)
    info = ops.info(d.path)
    assert info["utterances"] == 4 and info["speakers"] == 2
    assert info["hours"] == pytest.approx(4 * 0.2 / 3600)
    assert info["sample_rates"] == {"16000": 4}
    out = run_cli("data", "info", d.path).stdout
    assert "utterances 4" in out


def test_vbd_subset_from_folder(shared_data, tmp_path):
    vbd = shared_data / "vbd_test_subset"
    out = run_cli("data", "from-folder", vbd / "noisy", "--clean", vbd / "clean",
                  tmp_path / "vbd24", "--spk-regex", r"^(p\d+)_")
    assert "24 paired" in out.stdout
    out = run_cli("data", "validate", tmp_path / "vbd24")
    assert "24 utterances, 0 problem(s)" in out.stdout
    assert set(DataDir(tmp_path / "vbd24").utt2spk().values()) == {"p232", "p257"}
    noisy = np.asarray([float(v) for v in DataDir(tmp_path / "vbd24").read("utt2fs").values()])
    assert np.all(noisy == 16000)
