"""Tiny corpus trees in the real release layouts, for tests and recipe smoke runs.

Each ``make_<corpus>_tree(root, ...)`` writes a few short files exactly where and how the
release has them (names, folders, rates, log and CSV formats) and returns ``root``. The
audio is speech-like (harmonics with a syllable-rate envelope) and, where the corpus is
paired, the noisy file is the clean one plus noise at the logged SNR, so scoring it gives
meaningful numbers. Everything is drawn from ``seed``.
"""
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf


def _rng(seed, label):
    return np.random.default_rng([int(seed), zlib.crc32(str(label).encode())])


def speech_like(seconds, fs, seed=0, label=""):
    """Harmonic 'voice' (pitch 90-240 Hz) under a 3-6 Hz syllable envelope, peak 0.3."""
    rng = _rng(seed, f"speech:{label}")
    t = np.arange(max(1, int(seconds * fs))) / fs
    f0 = rng.uniform(90, 240)
    voice = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 9)
                if f0 * k < fs / 2)
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(3, 6) * t), 0, None) ** 2
    x = voice * envelope
    return (0.3 * x / max(np.max(np.abs(x)), 1e-9)).astype(np.float32)


def noise_like(seconds, fs, seed=0, label=""):
    """Low-passed Gaussian noise at RMS 0.05."""
    rng = _rng(seed, f"noise:{label}")
    n = rng.standard_normal(max(1, int(seconds * fs)))
    n = np.convolve(n, np.ones(4) / 4, mode="same")
    return (0.05 * n / max(np.sqrt(np.mean(n ** 2)), 1e-9)).astype(np.float32)


def mix_at_snr(clean, noise, snr_db):
    gain = np.sqrt(np.mean(clean ** 2) / max(np.mean(noise ** 2), 1e-12) / 10 ** (snr_db / 10))
    y = clean + gain * noise[:len(clean)]
    peak = np.max(np.abs(y))
    return (y / peak * 0.9 if peak > 0.99 else y).astype(np.float32)


def write_wav(path, audio, fs, subtype="PCM_16"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, fs, subtype=subtype)
    return path


def write_m4a(path, audio, fs):
    """AAC in an MPEG-4 (.m4a) container through PyAV, as VoxCeleb2 ships its audio."""
    import av
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=fs, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.asarray(audio, np.float32)[None, :],
                                           format="fltp", layout="mono")
        frame.sample_rate = fs
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# -- VoiceBank-DEMAND -------------------------------------------------------------------------
VBD_TRAIN_NOISES = ("babble", "cafeteria", "car", "kitchen", "meeting", "metro", "restaurant",
                    "ssn", "station", "traffic")
VBD_TEST_NOISES = ("bus", "cafe", "living", "office", "psquare")


def make_vbd_tree(root, train_speakers=("p226", "p287", "p230", "p231"),
                  test_speakers=("p232", "p257"), utts=3, seconds=0.3, fs=48000,
                  with_56spk=False, seed=0):
    """VoiceBank-DEMAND: ``{clean,noisy}_{trainset_28spk,testset}_wav/`` (48 kHz) and
    ``logfiles/log_*.txt`` with one ``<utt> <noise> <snr>`` line per file."""
    root = Path(root)
    splits = [("trainset_28spk", train_speakers, VBD_TRAIN_NOISES, (0, 5, 10, 15)),
              ("testset", test_speakers, VBD_TEST_NOISES, (2.5, 7.5, 12.5, 17.5))]
    if with_56spk:
        splits.append(("trainset_56spk", ("p234", "p236"), VBD_TRAIN_NOISES, (0, 5, 10, 15)))
    for split, speakers, noises, snrs in splits:
        lines = []
        for i, spk in enumerate(speakers):
            for j in range(1, utts + 1):
                utt = f"{spk}_{j:03d}"
                noise_type = noises[(i + j) % len(noises)]
                snr = snrs[(i * utts + j) % len(snrs)]
                clean = speech_like(seconds, fs, seed, utt)
                noisy = mix_at_snr(clean, noise_like(seconds, fs, seed, utt), snr)
                write_wav(root / f"clean_{split}_wav" / f"{utt}.wav", clean, fs)
                write_wav(root / f"noisy_{split}_wav" / f"{utt}.wav", noisy, fs)
                lines.append(f"{utt} {noise_type} {snr:g}\n")
        (root / "logfiles").mkdir(parents=True, exist_ok=True)
        (root / "logfiles" / f"log_{split}.txt").write_text("".join(lines))
    return root


# -- DNS Challenge -----------------------------------------------------------------------------
def _rir(fs, rt60, seed, label):
    """A synthetic RIR: a direct-path spike then exponentially decaying noise."""
    rng = _rng(seed, f"rir:{label}")
    n = int(fs * rt60)
    h = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n) * 0.3
    h[: int(0.002 * fs)] = 0.0
    h[int(0.002 * fs)] = 1.0
    return h.astype(np.float32)


def make_dns_tree(root, dns3=False, readers=("06709", "11980", "01326"), utts=2, seconds=0.5,
                  fs=16000, seed=0, blind_tracks=False, later_tests=False):
    """DNS Challenge under ``root/datasets/``: DNS1 (``dns3=False``) has flat clean/ with
    ``book_..._reader_NNNNN_K.wav``, noise/, test_set/synthetic/{no_reverb,with_reverb}/
    {clean,noisy} paired by ``fileid_N``, test_set/real_recordings/ and a flat
    blind_test_set/; ``dns3=True`` adds clean/<category>/ folders, impulse_responses/
    (SLR26, SLR28 with its noise files) and acoustic_params/RIR_table_simple.csv;
    ``blind_tracks=True`` the later blind test release ICASSP_blind_test_set/track_{1,2}/noisy/
    (real recordings) with track_2/adaptation_data/ (clean enrolment speech);
    ``later_tests=True`` paper 002's test sets: the DNS2 preliminary test set
    ICASSP_dev_test_set/track_1/{synthetic/{clean,noisy},real_recordings}/ (read, German,
    emotion and singing clips, file ids repeating across namespaces as in the release) and
    the DNS3 preliminary test set dev_testset/ (real_recordings/ and a synthetic clip)."""
    root = Path(root)
    ds = root / "datasets"
    for i, reader in enumerate(readers):
        for k in range(utts):
            name = f"book_{i:05d}_chp_{i + 3:04d}_reader_{reader}_{k}.wav"
            folder = ds / "clean" / ("read_speech" if dns3 else "")
            write_wav(folder / name, speech_like(seconds, fs, seed, name), fs)
    if dns3:
        write_wav(ds / "clean" / "german_speech" / "de_speaker_a_0001.wav",
                  speech_like(seconds, fs, seed, "de"), fs)
    for name in ("-BH5i2yNLXA.wav", "Door_knock_12345.wav", "Typing 2.wav"):
        write_wav(ds / "noise" / name, noise_like(seconds * 2, fs, seed, name), fs)
    synth = ds / "test_set" / "synthetic"
    for condition in ("no_reverb", "with_reverb"):
        for fid, (noise, snr, tl) in enumerate((("traffic_248091_3", 0, -21),
                                                ("G3hs6PFniM0", 15, -27),
                                                ("babble_188218_7", 8, -30))):
            clean = speech_like(seconds, fs, seed, f"{condition}{fid}")
            if condition == "with_reverb":
                clean = np.convolve(clean, _rir(fs, 0.3, seed, fid))[: len(clean)] * 0.5
            noisy = mix_at_snr(clean, noise_like(seconds, fs, seed, f"{condition}{fid}"), snr)
            write_wav(synth / condition / "clean" / f"clean_fileid_{fid}.wav", clean, fs)
            write_wav(synth / condition / "noisy" /
                      f"clnsp{fid + 1}_{noise}_snr{snr}_tl{tl}_fileid_{fid}.wav", noisy, fs)
    for name in ("ms_realrec_headset_cafe_spk2_3.wav", "audioset_realrec_babycry_2x43exdQ5bo.wav"):
        write_wav(ds / "test_set" / "real_recordings" / name,
                  mix_at_snr(speech_like(seconds, fs, seed, name),
                             noise_like(seconds, fs, seed, name), 5), fs)
    blind = ds / "blind_test_set"
    for name in ("noreverb_fileid_1.wav", "noreverb_fileid_2.wav", "reverb_fileid_1.wav",
                 "ms_realrec_Laptop(Windows)_A33D6XFZHIRXMM_Typing.wav"):
        write_wav(blind / name, mix_at_snr(speech_like(seconds, fs, seed, name),
                                           noise_like(seconds, fs, seed, name), 10), fs)
    (blind / "._noreverb_fileid_1.wav").write_bytes(b"\x00\x05\x16\x07")  # macOS AppleDouble
    if blind_tracks:
        release = ds / "ICASSP_blind_test_set"
        for rel in ("track_1/noisy/ms_realrec_english_Laptop_A33D6XFZHIRXMM_Typing_fileid_2.wav",
                    "track_1/noisy/ms_realrec_emotional_speech_crying_1_macbook_fan_A1B2.wav.wav",
                    "track_1/noisy/mc_realrec_non_english_desktop_Kitchen_A3C4.wav",
                    "track_2/noisy/A12FTSX85NQ8N9_ms_realrec_internalmic__fan_2_fileid_1.wav",
                    "track_2/adaptation_data/A12FTSX85NQ8N9_ms_realrec_2mins_cleanspeech.wav"):
            speech = speech_like(seconds, fs, seed, rel)
            audio = speech if "adaptation" in rel else mix_at_snr(
                speech, noise_like(seconds, fs, seed, rel), 5)
            write_wav(release / rel, audio, fs)
    if later_tests:
        _dns2_dns3_tests(ds, seconds, fs, seed)
    if dns3:
        irs = ds / "impulse_responses"
        rirs = {"SLR26/simulated_rirs_16k/smallroom/Room001/Room001-00001.wav": (0.3, 0),
                "SLR26/simulated_rirs_16k/mediumroom/Room002/Room002-00001.wav": (0.5, 0),
                "SLR28/RIRS_NOISES/real_rirs_isotropic_noises/"
                "RVB2014_type1_rir_largeroom1_near_angla.wav": (0.7, 1)}
        rows = ["wavfile,channel,T60_WB,C50_WB,isRealRIR"]
        for rel, (rt60, real) in rirs.items():
            write_wav(irs / rel, _rir(fs, rt60, seed, rel), fs, subtype="FLOAT")
            rows.append(f"datasets\\impulse_responses\\{rel.replace('/', chr(92))},1,"
                        f"{rt60},{10 - 10 * rt60:.2f},{real}")
        write_wav(irs / "SLR28/RIRS_NOISES/real_rirs_isotropic_noises/"
                  "RVB2014_type1_noise_largeroom1_1.wav", noise_like(seconds, fs, seed, "iso"), fs)
        write_wav(irs / "SLR28/RIRS_NOISES/pointsource_noises/noise-free-sound-0001.wav",
                  noise_like(seconds, fs, seed, "ps"), fs)
        (ds / "acoustic_params").mkdir(parents=True, exist_ok=True)
        (ds / "acoustic_params" / "RIR_table_simple.csv").write_text("\n".join(rows) + "\n")
    return root


def _dns2_dns3_tests(ds, seconds, fs, seed):
    """Paper 002's Table IV and V sets in the releases' names (see sebench/corpora/dns.py)."""
    synth = ds / "ICASSP_dev_test_set" / "track_1" / "synthetic"
    pairs = (("synthetic_", "synthetic_german_collection044_01_-04_water_248092_1_snr11_tl-19", 47),
             ("synthetic_", "synthetic_read_book_0012_babble_188218_20_snr0_tl-21", 105),
             ("synthetic_emotion_", "synthetic_emotion_157018_snr14_tl-22", 47),
             ("synthetic_singing_", "synthetic_singing_108328_snr1_tl-19", 59))
    for space, noisy_name, fid in pairs:
        clean = speech_like(seconds, fs, seed, f"dns2{space}{fid}")
        snr = float(noisy_name.split("_snr")[1].split("_")[0])
        noisy = mix_at_snr(clean, noise_like(seconds, fs, seed, noisy_name), snr)
        write_wav(synth / "clean" / f"{space}clean_fileid_{fid}.wav", clean, fs)
        write_wav(synth / "noisy" / f"{noisy_name}_fileid_{fid}.wav", noisy, fs)
    real = {"ICASSP_dev_test_set/track_1/real_recordings/ms_realrec_headset_cafe_spk1_1.wav": 5,
            "dev_testset/real_recordings/ms_realrec_emotional_female_SSW_crying_fileid_3.wav": 5,
            "dev_testset/real_recordings/audioset_realrec_airconditioner_2TE3LoA2OUQ.wav": 10,
            "dev_testset/synthetic/synthetic_singing_108328_snr4_tl-35_fileid_40.wav": 4}
    for rel, snr in real.items():
        write_wav(ds / rel, mix_at_snr(speech_like(seconds, fs, seed, rel),
                                       noise_like(seconds, fs, seed, rel), snr), fs)


# -- DAPS --------------------------------------------------------------------------------------
DAPS_SPEAKERS = tuple(f"f{i}" for i in range(1, 11)) + tuple(f"m{i}" for i in range(1, 11))
DAPS_SCRIPTS = tuple(f"script{i}" for i in range(1, 6))


def make_daps_tree(root, speakers=DAPS_SPEAKERS, scripts=DAPS_SCRIPTS,
                   devices=("ipad_office1", "iphone_balcony1"), seconds=0.1, fs=44100, seed=0):
    """DAPS: ``clean/<spk>_<script>_clean.wav`` and ``<device>_<room>/<spk>_<script>_<device>_
    <room>.wav`` (the clean speech plus room noise), 44.1 kHz, plus a ``produced/`` file and a
    macOS ``._`` file that must be ignored."""
    root = Path(root)
    for spk in speakers:
        for script in scripts:
            clean = speech_like(seconds, fs, seed, f"{spk}{script}")
            write_wav(root / "clean" / f"{spk}_{script}_clean.wav", clean, fs)
            for i, device_room in enumerate(devices):
                noisy = mix_at_snr(clean, noise_like(seconds, fs, seed, device_room), 5 + 5 * i)
                write_wav(root / device_room / f"{spk}_{script}_{device_room}.wav", noisy, fs)
    first = f"{speakers[0]}_{scripts[0]}"
    write_wav(root / "produced" / f"{first}_produced.wav", speech_like(seconds, fs, seed), fs)
    (root / "clean" / f"._{first}_clean.wav").write_bytes(b"\x00\x05\x16\x07")
    return root


# -- VoxCeleb2 ---------------------------------------------------------------------------------
#: paper 000's held-out dev speakers (conf/corpora/vox2.yaml), so the default split applies
VOX2_PAPER_SPEAKERS = ("id04344", "id03220", "id09272", "id00012", "id06698", "id07497",
                       "id05423", "id00019", "id00995", "id01452", "id03379", "id04178",
                       "id05384", "id06114", "id07223", "id08098", "id09109")


def make_vox2_tree(root, train_speakers=("id00517", "id02057"), held_out=VOX2_PAPER_SPEAKERS,
                   test_speakers=("id00017",), clips=2, seconds=0.5, fs=16000, seed=0):
    """VoxCeleb2: ``dev/aac/<id>/<video>/<NNNNN>.m4a`` (AAC, written with PyAV) for the
    training and held-out speakers, and ``test/aac/...`` for the official test speakers.
    Training speakers get ``clips`` clips in each of two videos; held-out ones one clip."""
    root = Path(root)
    rng = _rng(seed, "vox2-videos")
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))

    def video_id():
        return "".join(rng.choice(alphabet, 11))

    plan = [("dev", spk, 2, clips) for spk in train_speakers]
    plan += [("dev", spk, 1, 1) for spk in held_out]
    plan += [("test", spk, 1, clips) for spk in test_speakers]
    for split, spk, videos, n in plan:
        for _ in range(videos):
            video = video_id()
            for k in range(1, n + 1):
                audio = mix_at_snr(speech_like(seconds, fs, seed, f"{spk}{video}{k}"),
                                   noise_like(seconds, fs, seed, f"{spk}{video}{k}"), 10)
                write_m4a(root / split / "aac" / spk / video / f"{k:05d}.m4a", audio, fs)
    return root


# -- IUB ---------------------------------------------------------------------------------------
def make_iub_tree(root, clips=6, scale="0-100", seconds=0.3, fs=16000, seed=0,
                  csv_name="ratings.csv"):
    """IUB in sebench's documented layout: ``COSINE/`` and ``VOiCES/`` audio and a ratings CSV
    (``file,subset,rating``) on the 0-100 or 1-5 scale. The rating falls with the noise added
    to the clip, so a predictor can learn it. Returns ``root``; the true MOS of each file is
    ``1 + 4 r / 100`` for 0-100 ratings."""
    root = Path(root)
    rows = ["file,subset,rating"]
    for subset in ("COSINE", "VOiCES"):
        for i in range(clips):
            snr = 30.0 - 35.0 * i / max(clips - 1, 1)
            rel = f"{subset}/session{i % 2}/{subset.lower()}_{i:04d}.wav"
            audio = mix_at_snr(speech_like(seconds, fs, seed, rel),
                               noise_like(seconds, fs, seed, rel), snr)
            write_wav(root / rel, audio, fs)
            rating = float(np.clip((snr + 5) / 35 * 100, 0, 100))
            value = rating if scale == "0-100" else 1 + 4 * rating / 100
            rows.append(f"{rel},{subset},{value:.2f}")
    (root / csv_name).write_text("\n".join(rows) + "\n")
    return root


# -- ESC-50 ------------------------------------------------------------------------------------
#: the 50 ESC-50 classes in target order (0 = dog ... 49 = hand_saw)
ESC50_CATEGORIES = (
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping",
    "breathing", "coughing", "footsteps", "laughing", "brushing_teeth", "snoring",
    "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks",
    "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick",
    "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train",
    "church_bells", "airplane", "fireworks", "hand_saw")
ESC10 = {"dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing",
         "clock_tick", "helicopter", "chainsaw"}


def make_esc50_tree(root, categories=ESC50_CATEGORIES[:6], folds=(1, 2, 3, 4, 5), per_fold=1,
                    seconds=0.2, fs=44100, seed=0, silence=0.0):
    """ESC-50: ``audio/{fold}-{src_file}-{take}-{target}.wav`` (44.1 kHz) and
    ``meta/esc50.csv`` (filename,fold,target,category,esc10,src_file,take). ``silence``
    seconds at the end of each clip are digital zeros, as ESC-50 pads its short sounds."""
    root = Path(root)
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for category in categories:
        target = ESC50_CATEGORIES.index(category)
        for fold in folds:
            for k in range(per_fold):
                src = 100000 + 97 * target + 13 * fold + k
                name = f"{fold}-{src}-A-{target}.wav"
                audio = noise_like(seconds, fs, seed, name)
                if silence:
                    audio[len(audio) - int(round(silence * fs)):] = 0
                write_wav(root / "audio" / name, audio, fs)
                rows.append(f"{name},{fold},{target},{category},{category in ESC10},{src},A")
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root
