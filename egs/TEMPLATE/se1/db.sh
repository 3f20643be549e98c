# Corpus roots, one variable each (symlinked into every recipe as ./db.sh). Empty by default:
# set them here once, or per run from the environment, which always wins:
#     VBD=/data/VoiceBank-DEMAND ./run.sh --stop_stage 2
# A recipe's local/data.sh stops with the expected directory tree when its root is unset
# or laid out differently.
VBD=${VBD:-}        # VoiceBank-DEMAND (clean_trainset_28spk_wav/, noisy_testset_wav/, logfiles/)
DNS=${DNS:-}        # DNS Challenge (datasets/clean/, datasets/noise/, datasets/test_set/)
DAPS=${DAPS:-}      # DAPS (clean/, produced/, <device>_<room>/)
VOX2=${VOX2:-}      # VoxCeleb2 (dev/aac/idNNNNN/<video>/NNNNN.m4a, test/aac/...)
IUB=${IUB:-}        # IU Bloomington MOS corpus (audio and the ratings CSV)
ESC50=${ESC50:-}    # ESC-50 (audio/*.wav, meta/esc50.csv)
NOISE=${NOISE:-}    # any folder of noise recordings (e.g. street noise for DAPS mixtures)
