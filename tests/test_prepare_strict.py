"""Issue 31, item 6: `prepare` never ignores what does not fit without a word. Files that
match no pattern of the layout are a warning naming the folder and the count; a missing
required part is an error; so is a speaker-disjoint split that cannot be made."""
import logging
import os
import shutil

import pytest

from sebench.cli.main import main
from sebench.corpora import testing

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def caplog(caplog):
    """pytest's caplog, also attached to the "sebench" logger, which does not propagate once
    the CLI has set up logging."""
    logger = logging.getLogger("sebench")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def prepare(capsys, corpus, root, out, *options):
    rc = main(["prepare", corpus, "--root", str(root), "--out", str(out), *map(str, options)])
    return rc, capsys.readouterr().err


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def kv(path):
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())


@pytest.fixture(scope="module")
def daps(tmp_path_factory):
    return testing.make_daps_tree(tmp_path_factory.mktemp("c") / "daps", devices=("ipad_office1",))


@pytest.mark.slow
def test_daps_warns_about_device_and_clean_files_it_cannot_use(daps, tmp_path, capsys, caplog):
    root = tmp_path / "daps"
    shutil.copytree(daps, root)
    device = root / "ipad_office1"
    os.rename(device / "f1_script1_ipad_office1.wav", device / "f1_script1_ipad_office1.flac")
    os.rename(device / "f2_script1_ipad_office1.wav", device / "f2-script1-ipadoffice1.wav")
    (root / "clean" / "f1_script9_take2_clean.wav").write_bytes(
        (root / "clean" / "f1_script1_clean.wav").read_bytes())
    rc, err = prepare(capsys, "daps", root, tmp_path / "data")
    assert rc == 0, err
    found = warnings(caplog)
    assert any(f"2 file(s) in {device} are not <speaker>_<script>_ipad_office1.wav" in w
               and "f1_script1_ipad_office1.flac" in w for w in found), found
    assert any(f"1 file(s) in {root / 'clean'}" in w and "f1_script9_take2_clean.wav" in w
               for w in found), found
    # the untouched tree gives no such warning
    caplog.clear()
    assert prepare(capsys, "daps", daps, tmp_path / "clean_run")[0] == 0
    assert not [w for w in warnings(caplog) if "file(s) in" in w]


def test_vox2_without_dev_is_an_error(tmp_path, capsys):
    root = testing.make_vox2_tree(tmp_path / "vox2")
    shutil.rmtree(root / "dev")
    rc, err = prepare(capsys, "vox2", root, tmp_path / "data")
    assert rc == 1 and "no dev/aac/ folder" in err and "test/aac/ alone" in err
    assert not (tmp_path / "data" / "official_test").exists()


def test_vox2_warns_about_files_not_at_speaker_video_clip(tmp_path, capsys, caplog):
    root = testing.make_vox2_tree(tmp_path / "vox2")
    clip = next((root / "dev" / "aac").glob("id00517/*/*.m4a"))
    shutil.copy(clip, clip.with_suffix(".mp4"))          # another format: not a clip
    shutil.copy(clip, clip.parent.parent / "stray.m4a")   # not in a video folder
    rc, err = prepare(capsys, "vox2", root, tmp_path / "data")
    assert rc == 0, err
    assert any("2 file(s) in " in w and str(root / "dev" / "aac") in w for w in warnings(caplog))


def test_dns_empty_clean_folder_is_an_error(tmp_path, capsys):
    root = testing.make_dns_tree(tmp_path / "dns")
    for f in (root / "datasets" / "clean").iterdir():
        f.unlink()
    rc, err = prepare(capsys, "dns", root, tmp_path / "data")
    assert rc == 1 and "clean holds no .wav/.flac files" in err


def test_dns_clean_files_without_a_reader_never_enter_clean_valid(tmp_path, capsys, caplog):
    root = testing.make_dns_tree(tmp_path / "dns", readers=("06709", "11980", "01326", "00001"))
    clean = root / "datasets" / "clean"
    odd = ["speaker_x_take1.wav", "speaker_x_take2.wav", "speaker_x_take3.wav"]
    for name in odd:
        shutil.copy(next(clean.glob("*.wav")), clean / name)
    rc, err = prepare(capsys, "dns", root, tmp_path / "data", "--valid-fraction", 0.5)
    assert rc == 0, err
    valid = kv(tmp_path / "data" / "clean_valid" / "utt2spk")
    train = kv(tmp_path / "data" / "clean_train" / "utt2spk")
    assert valid and all(spk.startswith("reader_") for spk in valid.values())
    assert {n[:-4] for n in odd} <= set(train)
    assert not set(valid.values()) & set(train.values())
    assert any(f"3 file(s) in {clean} name no speaker" in w and "never clean_valid" in w
               for w in warnings(caplog)), warnings(caplog)


def test_dns_split_that_cannot_be_speaker_disjoint_is_an_error(tmp_path, capsys):
    root = testing.make_dns_tree(tmp_path / "dns")
    rc, err = prepare(capsys, "dns", root, tmp_path / "data", "--spk-regex", "(talker_\\d+)")
    assert rc == 1 and "clean_valid cannot be speaker-disjoint" in err
    # with no validation split, nothing needs speakers
    rc, err = prepare(capsys, "dns", root, tmp_path / "data", "--spk-regex", "(talker_\\d+)",
                      "--valid-fraction", 0)
    assert rc == 0, err
