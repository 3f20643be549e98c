"""`sebench prepare`: every corpus parser on a tiny tree in its real release layout, the
splits, and the errors a wrong root gives."""
import csv
import os
import shutil
import subprocess

import pytest

from conftest import run_cli
from sebench import corpora
from sebench.cli.main import main
from sebench.corpora import testing
from sebench.corpora.layout import scan_files
from sebench.corpora.writer import SetWriter
from sebench.data import DataDir
from sebench.data.validate import validate
from sebench.errors import SebenchError

pytestmark = pytest.mark.timeout(60)


def prepare(capsys, corpus, root, out, *options):
    """Run `sebench prepare` in-process; returns (exit code, stdout, stderr)."""
    rc = main(["prepare", corpus, "--root", str(root), "--out", str(out), *map(str, options)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def ok(capsys, corpus, root, out, *options):
    rc, stdout, stderr = prepare(capsys, corpus, root, out, *options)
    assert rc == 0, stderr
    return stdout


def kv(path):
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())


def keys(out, name):
    return set(kv(os.path.join(out, name, "wav.scp")))


def assert_valid(path):
    report = validate(path, check_audio=True)
    assert report.ok and not report.warnings, report.format()


def snapshot(folder):
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, files in os.walk(folder) for f in files if not f.startswith("prepare_")}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpora")
    return {
        "vbd": testing.make_vbd_tree(base / "vbd"),
        "dns1": testing.make_dns_tree(base / "dns1"),
        "dns3": testing.make_dns_tree(base / "dns3", dns3=True, blind_tracks=True),
        "dns_later": testing.make_dns_tree(base / "dns_later", utts=1, later_tests=True),
        "daps": testing.make_daps_tree(base / "daps", devices=("ipad_office1",)),
        "vox2": testing.make_vox2_tree(base / "vox2"),
        "iub100": testing.make_iub_tree(base / "iub100", scale="0-100"),
        "iub5": testing.make_iub_tree(base / "iub5", scale="1-5"),
        "esc50": testing.make_esc50_tree(base / "esc50"),
    }


# -- VoiceBank-DEMAND ---------------------------------------------------------------------------
def test_vbd_sets_pairs_logs_and_speaker_split(trees, tmp_path, capsys):
    out = tmp_path / "data"
    stdout = ok(capsys, "vbd", trees["vbd"], out)
    assert f"{out}/test: 6 utterances, 2 speakers" in stdout
    for name in ("train_all", "train", "valid", "test"):
        assert_valid(out / name)
    # paper 000: the speakers p226 and p287 are the validation set, disjoint from train
    assert set(kv(out / "valid" / "utt2spk").values()) == {"p226", "p287"}
    assert keys(out, "train") | keys(out, "valid") == keys(out, "train_all")
    assert not keys(out, "train") & keys(out, "valid")
    # noisy and clean are the same utterance, from the two folders
    for key, noisy in kv(out / "test" / "wav.scp").items():
        clean = kv(out / "test" / "clean.scp")[key]
        assert noisy.endswith(f"noisy_testset_wav/{key}.wav")
        assert clean.endswith(f"clean_testset_wav/{key}.wav")
    # utt2noise / utt2snr are the log file's columns
    logged = {}
    for line in (trees["vbd"] / "logfiles" / "log_testset.txt").read_text().splitlines():
        utt, noise, snr = line.split()
        logged[utt] = (noise, float(snr))
    noise, snr = kv(out / "test" / "utt2noise"), kv(out / "test" / "utt2snr")
    assert {k: (noise[k], float(snr[k])) for k in noise} == logged
    assert set(kv(out / "test" / "utt2fs").values()) == {"48000"}
    assert set(kv(out / "test" / "utt2num_samples").values()) == {str(int(0.3 * 48000))}


def test_vbd_random_split_is_seeded_and_disjoint(trees, tmp_path, capsys):
    def split(seed, out):
        ok(capsys, "vbd", trees["vbd"], out, "--valid-split", "random", "--valid-fraction",
           "0.25", "--seed", seed)
        return keys(out, "train"), keys(out, "valid")

    train, valid = split(3, tmp_path / "a")
    assert len(valid) == 3 and not train & valid and len(train | valid) == 12
    assert split(3, tmp_path / "b") == (train, valid)
    assert any(split(s, tmp_path / f"s{s}")[1] != valid for s in (4, 5, 6))


def test_vbd_rerun_is_identical_and_replaces_the_dir_whole(trees, tmp_path, capsys):
    out = tmp_path / "data"
    ok(capsys, "vbd", trees["vbd"], out)
    first = snapshot(out)
    (out / "train" / "stale_file").write_text("x")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / f".train.tmp-{dead.pid}").mkdir()  # left by a killed run
    ok(capsys, "vbd", trees["vbd"], out)
    assert snapshot(out) == first  # same bytes; the stale file went with the old dir
    assert not [p for p in os.listdir(out) if p.startswith(".")]  # no temporary folders left


def test_vbd_56spk_and_unknown_valid_speaker(trees, tmp_path, capsys):
    root = tmp_path / "vbd56"
    testing.make_vbd_tree(root, with_56spk=True, utts=1)
    ok(capsys, "vbd", root, tmp_path / "d", "--train-set", "56spk", "--valid-split", "none")
    assert set(kv(tmp_path / "d" / "train" / "utt2spk").values()) == {"p234", "p236"}
    assert not (tmp_path / "d" / "valid").exists()
    rc, _, err = prepare(capsys, "vbd", root, tmp_path / "e", "--train-set", "56spk")
    assert rc == 1 and "valid_speakers p226, p287 not found" in err


def test_vbd_bad_log_line_names_file_and_line(tmp_path, capsys):
    root = testing.make_vbd_tree(tmp_path / "vbd", train_speakers=("p226", "p287"), utts=1)
    log = root / "logfiles" / "log_testset.txt"
    log.write_text(log.read_text() + "p232_009 cafe loud\n")
    rc, _, err = prepare(capsys, "vbd", root, tmp_path / "d")
    assert rc == 1 and f"{log}:3: SNR 'loud' is not a number" in err
    assert "Traceback" not in err


# -- DNS Challenge -----------------------------------------------------------------------------
def test_dns1_sets_pairing_and_blind_classification(trees, tmp_path, capsys):
    out = tmp_path / "data"
    ok(capsys, "dns", trees["dns1"], out, "--valid-fraction", "0.3")
    for name in ("clean", "noise", "test_synthetic_no_reverb", "test_synthetic_with_reverb",
                 "test_real_recordings", "blind_noreverb", "blind_reverb", "blind_real"):
        assert_valid(out / name)
    spk = kv(out / "clean" / "utt2spk")
    assert set(spk.values()) == {"reader_06709", "reader_11980", "reader_01326"}
    train_spk = set(kv(out / "clean_train" / "utt2spk").values())
    valid_spk = set(kv(out / "clean_valid" / "utt2spk").values())
    assert len(valid_spk) == 1 and not train_spk & valid_spk  # speaker-disjoint
    # synthetic pairs share fileid_N; SNR and level come from the noisy name
    test = out / "test_synthetic_no_reverb"
    for key, noisy in kv(test / "wav.scp").items():
        fileid = key.split("_fileid_")[1]
        assert noisy.endswith(f"_fileid_{fileid}.wav")
        assert kv(test / "clean.scp")[key].endswith(f"/clean_fileid_{fileid}.wav")
    assert kv(test / "utt2snr") == {"noreverb_fileid_0": "0", "noreverb_fileid_1": "15",
                                    "noreverb_fileid_2": "8"}
    assert kv(test / "utt2level")["noreverb_fileid_1"] == "-27"
    rev = out / "test_synthetic_with_reverb"
    assert kv(rev / "clean_rev.scp") == kv(rev / "clean.scp")
    assert not (test / "clean_rev.scp").exists()
    assert keys(out, "blind_noreverb") == {"noreverb_fileid_1", "noreverb_fileid_2"}
    assert keys(out, "blind_reverb") == {"reverb_fileid_1"}
    assert keys(out, "blind_real") == {"ms_realrec_Laptop(Windows)_A33D6XFZHIRXMM_Typing"}
    assert not (out / "rirs").exists()  # DNS1 has no impulse_responses/


def test_dns2_and_dns3_test_sets_of_paper_002(trees, tmp_path, capsys):
    out = tmp_path / "data"
    ok(capsys, "dns", trees["dns_later"], out, "--require", "test_dns2_synthetic,test_dns3_real")
    for name in ("test_dns2_synthetic", "test_dns2_real", "test_dns3_real"):
        assert_valid(out / name)
    test = out / "test_dns2_synthetic"
    clean = kv(test / "clean.scp")
    # file id 47 is two clips: read/German speech and emotion, each with its own clean
    assert set(clean) == {"dns2_fileid_47", "dns2_fileid_105", "dns2_emotion_fileid_47",
                          "dns2_singing_fileid_59"}
    assert clean["dns2_fileid_47"].endswith("/synthetic_clean_fileid_47.wav")
    assert clean["dns2_emotion_fileid_47"].endswith("/synthetic_emotion_clean_fileid_47.wav")
    assert "german" in kv(test / "wav.scp")["dns2_fileid_47"]
    assert kv(test / "utt2category") == {"dns2_fileid_47": "speech", "dns2_fileid_105": "speech",
                                         "dns2_emotion_fileid_47": "emotion",
                                         "dns2_singing_fileid_59": "singing"}
    assert kv(test / "utt2snr")["dns2_emotion_fileid_47"] == "14"
    # DNS3: the real recordings of dev_testset/, not its synthetic clips
    assert keys(out, "test_dns3_real") == {"ms_realrec_emotional_female_SSW_crying_fileid_3",
                                           "audioset_realrec_airconditioner_2TE3LoA2OUQ"}
    assert len(keys(out, "dev_testset")) == 3
    # a release without them stops with the expected tree when the recipe requires them
    rc, _, err = prepare(capsys, "dns", trees["dns1"], tmp_path / "d1", "--require",
                         "test_synthetic_no_reverb,test_dns2_synthetic,test_dns3_real")
    assert rc == 1 and "test_dns2_synthetic, test_dns3_real not found" in err
    assert "expected layout of the dns root:" in err and "ICASSP_dev_test_set/" in err


def test_dns3_categories_and_rirs_usable_by_simulate(trees, tmp_path, capsys):
    from sebench.simulate.simulate import load_rirs
    out = tmp_path / "data"
    ok(capsys, "dns", trees["dns3"] / "datasets", out, "--prefix", "dns_")  # datasets/ as root
    assert set(kv(out / "dns_clean" / "utt2category").values()) == {"read_speech",
                                                                      "german_speech"}
    rirs, meta = load_rirs(str(out / "dns_rirs"))
    # SLR28's isotropic and point-source noise recordings are not RIRs
    assert len(rirs) == 3
    assert not any("_noise" in os.path.basename(p) for p in rirs.values())
    by_source = {m["source"]: m for m in meta.values()}
    assert by_source["SLR28"]["rt60"] == "0.7" and by_source["SLR28"]["is_real"] == "1"
    # the later blind test release: one set per track, never the enrolment speech
    assert keys(out, "dns_blind_track1") == {
        "ms_realrec_english_Laptop_A33D6XFZHIRXMM_Typing_fileid_2",
        "ms_realrec_emotional_speech_crying_1_macbook_fan_A1B2",      # x.wav.wav in the release
        "mc_realrec_non_english_desktop_Kitchen_A3C4"}
    assert keys(out, "dns_blind_track2") == {"A12FTSX85NQ8N9_ms_realrec_internalmic__fan_2_fileid_1"}
    assert_valid(out / "dns_blind_track1")
    # ... also given as blind_dir beside DNS1's blind_test_set/
    ok(capsys, "dns", trees["dns1"], tmp_path / "d1", "--blind-dir",
       trees["dns3"] / "datasets" / "ICASSP_blind_test_set")
    assert len(keys(tmp_path / "d1", "blind_track1")) == 3
    assert keys(tmp_path / "d1", "blind_reverb") == {"reverb_fileid_1"}
    # without the table every RIR wav is still listed, with no T60
    root = tmp_path / "dns3"
    shutil.copytree(trees["dns3"], root)
    (root / "datasets" / "acoustic_params" / "RIR_table_simple.csv").unlink()
    ok(capsys, "dns", root, tmp_path / "d2")
    rirs, meta = load_rirs(str(tmp_path / "d2" / "rirs"))
    assert len(rirs) == 3 and all(m["rt60"] == "" for m in meta.values())


# -- DAPS --------------------------------------------------------------------------------------
def test_daps_three_way_split_is_disjoint_balanced_and_paired(trees, tmp_path, capsys):
    out = tmp_path / "data"
    ok(capsys, "daps", trees["daps"], out)
    segment = {}
    for seg in ("cae", "mae", "test"):
        spk = kv(out / f"{seg}_clean" / "utt2spk")
        scripts = set(kv(out / f"{seg}_clean" / "utt2script").values())
        segment[seg] = (set(spk.values()), scripts)
    speakers = [s for spk, _ in segment.values() for s in spk]
    scripts = [s for _, sc in segment.values() for s in sc]
    assert len(speakers) == len(set(speakers)) == 20 and len(scripts) == len(set(scripts)) == 5
    assert [len(segment[s][1]) for s in ("cae", "mae", "test")] == [2, 2, 1]
    for seg, (spk, _) in segment.items():  # male and female spread evenly
        assert sum(s[0] == "f" for s in spk) == sum(s[0] == "m" for s in spk)
    assert not (out / "cae_device").exists()
    dev = out / "test_device"
    assert_valid(dev)
    for key, path in kv(dev / "wav.scp").items():
        spk, script = key.split("_")[:2]
        assert path.endswith(f"ipad_office1/{key}.wav")
        assert kv(dev / "clean.scp")[key].endswith(f"clean/{spk}_{script}_clean.wav")
        assert spk in segment["test"][0] and script in segment["test"][1]
    assert set(kv(dev / "utt2device").values()) == {"ipad"}
    assert set(kv(dev / "utt2room").values()) == {"office1"}
    # the draw is seeded: the same seed gives the same split, another seed another one
    ok(capsys, "daps", trees["daps"], tmp_path / "again")
    assert keys(tmp_path / "again", "test_device") == keys(out, "test_device")
    ok(capsys, "daps", trees["daps"], tmp_path / "seed1", "--seed", "1")
    assert keys(tmp_path / "seed1", "cae_clean") != keys(out, "cae_clean")


def test_daps_explicit_segments(trees, tmp_path, capsys):
    config = tmp_path / "split.yaml"
    config.write_text("speakers: {cae: [f1, m1], mae: [f2, m2], test: [f3, m3]}\n"
                      "scripts: {cae: [script1], mae: [script2, script3], test: [script5]}\n")
    ok(capsys, "daps", trees["daps"], tmp_path / "d", "--config", config)
    assert keys(tmp_path / "d", "test_clean") == {"f3_script5", "m3_script5"}
    config.write_text("speakers: {cae: [f1], mae: [f1], test: [f3]}\n")
    rc, _, err = prepare(capsys, "daps", trees["daps"], tmp_path / "e", "--config", config)
    assert rc == 1 and "disjoint" in err


# -- VoxCeleb2 ---------------------------------------------------------------------------------
def test_vox2_paper_split_by_speaker_id(trees, tmp_path, capsys):
    out = tmp_path / "data"
    stdout = ok(capsys, "vox2", trees["vox2"], out)  # the split comes from conf/corpora/vox2.yaml
    assert f"{out}/train: 8 utterances, 2 speakers" in stdout
    valid = set(kv(out / "valid" / "utt2spk").values())
    test = set(kv(out / "test" / "utt2spk").values())
    assert valid == set(testing.VOX2_PAPER_SPEAKERS[:7])
    assert test == set(testing.VOX2_PAPER_SPEAKERS[7:])
    assert set(kv(out / "train" / "utt2spk").values()) == {"id00517", "id02057"}
    assert set(kv(out / "official_test" / "utt2spk").values()) == {"id00017"}
    for key, path in kv(out / "train" / "wav.scp").items():
        spk, video, clip = key.split("-", 2)
        assert path.endswith(f"dev/aac/{spk}/{video}/{clip}.m4a")
        assert kv(out / "train" / "utt2video")[key] == video
    for name in ("train", "valid", "test", "official_test"):
        assert validate(out / name, check_audio=False).ok
    assert not (out / "train" / "utt2num_samples").exists()  # AAC headers are not read


@pytest.mark.slow
def test_vox2_sharded_scan_writes_the_same_sets(trees, tmp_path, capsys):
    def sets(out):
        return {k: v for k, v in snapshot(out).items() if not k.startswith("split_")}
    ok(capsys, "vox2", trees["vox2"], tmp_path / "one")
    stdout = ok(capsys, "vox2", trees["vox2"], tmp_path / "two", "--nj", 2, "--cmd", "run.pl")
    assert f"{tmp_path}/two/train: 8 utterances, 2 speakers" in stdout
    logs = sorted(os.listdir(tmp_path / "two" / "split_vox2" / "log"))
    assert logs == ["prepare.1.log", "prepare.2.log"]       # two scan jobs through the runner
    one = sets(tmp_path / "one")
    assert sets(tmp_path / "two").keys() == one.keys() and "train/wav.scp" in one
    for name in one:   # byte for byte
        assert sets(tmp_path / "two")[name] == one[name], name
    ok(capsys, "vox2", trees["vox2"], tmp_path / "two", "--nj", 2)     # a rerun: the same
    assert sets(tmp_path / "two") == one
    rc, _, err = prepare(capsys, "vbd", trees["vbd"], tmp_path / "v", "--nj", 2)
    assert rc == 1 and "unknown option --nj" in err      # only vox2 shards its scan


def test_vox2_listed_speaker_must_exist(trees, tmp_path, capsys):
    rc, _, err = prepare(capsys, "vox2", trees["vox2"], tmp_path / "d", "--test-speakers",
                         "id99999")
    assert rc == 1 and "speaker(s) id99999 not found in dev/aac/" in err


# -- IUB ---------------------------------------------------------------------------------------
def test_iub_ratings_map_to_mos_and_split(trees, tmp_path, capsys):
    out100, out5 = tmp_path / "a", tmp_path / "b"
    ok(capsys, "iub", trees["iub100"], out100, "--valid-num", 2, "--test-num", 3)
    ok(capsys, "iub", trees["iub5"], out5, "--valid-num", 2, "--test-num", 3)
    with open(trees["iub100"] / "ratings.csv", newline="") as f:
        ratings = {row["file"]: float(row["rating"]) for row in csv.DictReader(f)}
    mos100, mos5 = kv(out100 / "all" / "utt2mos"), kv(out5 / "all" / "utt2mos")
    assert len(mos100) == len(ratings) == 12
    for rel, rating in ratings.items():
        key = rel[:-4].replace("/", "-")
        assert float(mos100[key]) == pytest.approx(1 + 4 * rating / 100, abs=1e-4)
        assert float(mos5[key]) == pytest.approx(float(mos100[key]), abs=0.01)  # same ratings
    assert set(kv(out100 / "all" / "utt2subset").values()) == {"COSINE", "VOiCES"}
    train, valid, test = (keys(out100, n) for n in ("train", "valid", "test"))
    assert (len(valid), len(test), len(train)) == (2, 3, 7)
    assert not (train & valid or train & test or valid & test)
    assert not list((out100 / "all").glob("utt2dnsmos*"))


def test_iub_refuses_out_of_range_ratings(trees, tmp_path, capsys):
    root = tmp_path / "iub"
    shutil.copytree(trees["iub100"], root)
    ratings = root / "ratings.csv"
    lines = ratings.read_text().splitlines()
    rc, _, err = prepare(capsys, "iub", root, tmp_path / "d", "--scale", "1-5")
    assert rc == 1 and f"{ratings}:2: rating" in err and "outside the 1-5 scale" in err
    lines[3] = lines[3].rsplit(",", 1)[0] + ",120"
    ratings.write_text("\n".join(lines) + "\n")
    rc, _, err = prepare(capsys, "iub", root, tmp_path / "d")
    assert rc == 1 and f"{ratings}:4: rating 120 is outside the 0-100 scale" in err


# -- ESC-50 ------------------------------------------------------------------------------------
def test_esc50_seen_unseen_categories_and_folds(trees, tmp_path, capsys):
    out = tmp_path / "data"
    ok(capsys, "esc50", trees["esc50"], out, "--num-unseen", 2)
    category = kv(out / "noise" / "utt2category")
    fold = kv(out / "noise" / "utt2fold")
    unseen = {category[k] for k in keys(out, "noise_test_unseen")}
    assert len(unseen) == 2
    for name, folds in (("noise_train", {"1", "2", "3"}), ("noise_valid", {"4"}),
                        ("noise_test_seen", {"5"})):
        assert {fold[k] for k in keys(out, name)} == folds
        assert not {category[k] for k in keys(out, name)} & unseen
    assert all(k.startswith(category[k] + "-") for k in category)  # noise_include-friendly
    ok(capsys, "esc50", trees["esc50"], tmp_path / "e", "--unseen-categories", "dog,rooster")
    assert {kv(tmp_path / "e" / "noise" / "utt2category")[k]
            for k in keys(tmp_path / "e", "noise_test_unseen")} == {"dog", "rooster"}


# -- wrong roots -------------------------------------------------------------------------------
@pytest.mark.parametrize("corpus", list(corpora.CORPORA))
def test_wrong_root_prints_the_expected_tree(corpus, tmp_path, capsys):
    tree_head = corpora.get_corpus(corpus).TREE.splitlines()[1]
    rc, _, err = prepare(capsys, corpus, tmp_path / "missing", tmp_path / "d")
    lines = err.splitlines()
    assert rc == 1 and lines[0].endswith("missing: corpus root not found")
    assert lines[1] == f"expected layout of the {corpus} root:" and tree_head in err
    (tmp_path / "empty").mkdir()
    rc, _, err = prepare(capsys, corpus, tmp_path / "empty", tmp_path / "d")
    assert rc == 1 and "expected layout" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists() or not os.listdir(tmp_path / "d")


def test_wrong_root_in_a_real_process_has_no_traceback(tmp_path):
    proc = run_cli("prepare", "dns", "--root", tmp_path, "--out", tmp_path / "d", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "expected layout of the dns root:" in proc.stderr


# -- writer and scanning -----------------------------------------------------------------------
def test_writer_sorts_rejects_duplicates_and_keeps_the_old_dir_on_failure(tmp_path):
    target = tmp_path / "set"
    w = SetWriter(target)
    for key in ("b", "a", "c"):
        w.add(key, "s1" if key != "c" else "s2", {"snr": 1}, wav=f"/x/{key}.wav")
    w.add("d", None, {}, wav="/x/d.wav")  # utt2snr now covers 3 of 4: not written
    summary = w.close()
    assert (target / "wav.scp").read_text().splitlines()[0] == "a /x/a.wav"
    assert kv(target / "spk2utt") == {"s1": "a b", "s2": "c", "d": "d"}
    assert not (target / "utt2snr").exists() and summary.utterances == 4
    before = snapshot(target)
    w = SetWriter(target)
    w.add("a", None, wav="/y/a.wav")
    w.add("a", None, wav="/y/a2.wav")
    w.add("0", None, wav="/y/0.wav")  # out of order, so the duplicate is found at the sort
    with pytest.raises(SebenchError, match="two files map to the key 'a'"):
        w.close()
    assert snapshot(target) == before and os.listdir(tmp_path) == ["set"]


def test_scan_skips_hidden_files_and_walks_in_order(tmp_path):
    for rel in ("b/2.wav", "b/1.WAV", "a/z.wav", "a/.hidden/x.wav", "._a.wav", "c.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert [rel for rel, _ in scan_files(tmp_path, (".wav",))] == ["a/z.wav", "b/1.WAV",
                                                                  "b/2.wav"]


def test_every_corpus_documents_its_options_and_sets():
    for name in corpora.CORPORA:
        module = corpora.get_corpus(name)
        assert set(module.HELP) == set(module.DEFAULTS), name
        assert module.TREE.strip() and module.SETS.strip() and module.TITLE
        defaults = corpora.default_config(name)  # the split file has no unknown keys
        assert set(defaults) == set(module.DEFAULTS)
    assert corpora.default_config("vox2")["test_speakers"] == list(
        testing.VOX2_PAPER_SPEAKERS[7:])
    assert DataDir  # the data dirs above are read back through the DataDir conventions
