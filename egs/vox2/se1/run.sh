#!/usr/bin/env bash
# egs/vox2/se1: paper 000 on real noisy speech. VoxCeleb2 dev is the unpaired training data
# (the paper's held-out validation/test speakers in conf/vox2.yaml), labelled by DNSMOS
# P.808/P.835; the Vox2+DNSMOS predictors (cnn, blstm, cnn_blstm) teach deepdream, gan,
# robust_q and semi, which are scored on the Vox2 test speakers, the DNS1 blind test set
# (real / noreverb / reverb) and the DNS3 one (dns3_blind) with DNSMOS P.808 and P.835
# SIG/BAK/OVRL (and SRMR on dns3_blind).
# Data: VOX2 and DNS in db.sh or the environment: `VOX2=/data/vox2 DNS=/data/DNS ./run.sh`.
#   ./run.sh                             # default systems; a rerun skips finished stages
#   ./run.sh --systems all               # + semi (needs egs/vbd/se1's supervised model) and
#                                        #   deepdream_iub (needs egs/iub/se1's packed qp_cnn)
#   ./run.sh --stage 11 --stop_stage 11  # curation report (after stage 4; conf/curate.yaml)
#   ./run.sh --confdir conf/smoke        # tiny sizes (tests/test_recipe_corpora.py)
# Stages: ./se.sh --help; 11-12 are this recipe's (local/stages.sh).
set -euo pipefail

# semi starts from egs/vbd/se1's supervised CNN-BLSTM (conf/recipe.yaml: {env:VBD_SUPERVISED})
export VBD_SUPERVISED=${VBD_SUPERVISED:-../../vbd/se1/exp/supervised}
# deepdream_iub's teacher: egs/iub/se1's CNN predictor trained on human MOS
export IUB_QP=${IUB_QP:-../../iub/se1/exp/packed/qp_cnn.zip}
if [ ! -f "${VBD_SUPERVISED}/model/model.yaml" ] && [ ! -f "${VBD_SUPERVISED}/model.yaml" ]; then
  echo "$0: note: no supervised model at VBD_SUPERVISED=${VBD_SUPERVISED}: system 'semi' needs" \
       "egs/vbd/se1's (run that recipe, or set VBD_SUPERVISED=/path/to/exp/supervised)" >&2
fi
if [ ! -e "${IUB_QP}" ]; then
  echo "$0: note: no IUB predictor at IUB_QP=${IUB_QP}: system 'deepdream_iub' needs" \
       "egs/iub/se1's packed qp_cnn (run that recipe, or set IUB_QP=...)" >&2
fi
./se.sh --fs 16000 --local_stages local/stages.sh "$@"
