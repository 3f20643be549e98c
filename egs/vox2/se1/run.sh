#!/usr/bin/env bash
# egs/vox2/se1: paper 000 on real noisy speech. VoxCeleb2 dev is the unpaired training data
# (the paper's held-out validation/test speakers in conf/vox2.yaml), labelled by DNSMOS
# P.808/P.835; the Vox2+DNSMOS predictors (cnn, blstm, cnn_blstm) teach deepdream, gan,
# robust_q and semi, which are scored (with egs/vbd/se1's supervised model) on the Vox2 test
# speakers, the DNS1 blind test set (real / noreverb / reverb) and the DNS3 one (dns3_blind)
# with DNSMOS P.808 and P.835 SIG/BAK/OVRL (and SRMR on dns3_blind): paper 000 Tables 1-7.
# Data: VOX2 and DNS in db.sh or the environment: `VOX2=/data/vox2 DNS=/data/DNS ./run.sh`.
#   ./run.sh                             # default systems; a rerun skips finished stages
#   ./run.sh --systems all               # + supervised, semi, semi+robust_q (need egs/vbd/se1's
#                                        #   'supervised') and deepdream_iub* (need egs/iub/se1's
#                                        #   packed predictors): run those recipes first
#   ./run.sh --leave_out_sets dns3_blind # without a test set you have not downloaded
#   ./run.sh --stage 11 --stop_stage 11  # curation report (after stage 4; conf/curate.yaml)
#   ./run.sh --confdir conf/smoke        # tiny sizes (tests/test_recipe_corpora.py)
# Stages: ./se.sh --help; 11-12 are this recipe's (local/stages.sh).
set -euo pipefail

# supervised, semi and semi+robust_q start from egs/vbd/se1's system 'supervised' (paper
# 000's CNN-BLSTM on VBD, p226/p287 held out; conf/recipe.yaml: {env:VBD_SUPERVISED})
export VBD_SUPERVISED=${VBD_SUPERVISED:-../../vbd/se1/exp/supervised}
# the deepdream_iub* teachers: egs/iub/se1's packed predictors trained on human MOS
export IUB_PACKED=${IUB_PACKED:-../../iub/se1/exp/packed}
if [ ! -f "${VBD_SUPERVISED}/model/model.yaml" ] && [ ! -f "${VBD_SUPERVISED}/model.yaml" ]; then
  echo "$0: note: no supervised model at VBD_SUPERVISED=${VBD_SUPERVISED}: systems 'supervised'," \
       "'semi' and 'semi+robust_q' need egs/vbd/se1's (run './run.sh --systems supervised'" \
       "there, or set VBD_SUPERVISED=/path/to/exp/supervised)" >&2
fi
for qp in qp_cnn qp_blstm qp_cnn_blstm; do
  if [ ! -e "${IUB_PACKED}/${qp}.zip" ]; then
    echo "$0: note: no ${IUB_PACKED}/${qp}.zip: the deepdream_iub* systems need egs/iub/se1's" \
         "packed predictors (run that recipe, or set IUB_PACKED=/path/to/exp/packed)" >&2
    break
  fi
done
./se.sh --fs 16000 --local_stages local/stages.sh "$@"
