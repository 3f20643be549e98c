# egs/vox2/se1's own stages (sourced by se.sh after stage 10; see egs/TEMPLATE/README.md).
# Stage 11: curation of the training set by DNSMOS and active-speech ratio (conf/curate.yaml)
# -> data/train_curated and exp/curation.md (hours kept per threshold). It needs stage 4's
# labels; to train on the curated set run it before stage 5 and name train_curated as the
# systems' `data:` in conf/recipe.yaml:
#   ./run.sh --stop_stage 4 && ./run.sh --stage 11 --stop_stage 11 && ./run.sh
if begin_stage 11 "curate $(signature "$(cat "$conf/curate.yaml")")" \
    "curation of the training set (conf/curate.yaml)"; then
  say "curate: sebench data curate $data/train $data/train_curated --config $conf/curate.yaml"
  sebench data curate "$data/train" "$data/train_curated" --config "$conf/curate.yaml" \
    --report "$exp/curation.md"
  end_stage 11 "curate $(signature "$(cat "$conf/curate.yaml")")"
fi

# Stages 12-14: paper 000's figures from the trained systems (those of this run; a figure
# leaves out what was not trained). A system trained with several seeds shows its first.
teacher_series="valid:teacher,metric:dnsmos_ovrl"
# Fig. 1: deepdream and the GAN-like scheme, the teacher's own score and DNSMOS OVRL of the
# validation subset against steps (a rising teacher over a falling OVRL: the teacher fooled)
fig1="deepdream=$exp/deepdream,gan=$exp/gan"
if begin_stage 12 "$fig1 $systems" "deepdream vs GAN-like training curves (paper 000 Fig. 1)"; then
  sebench plot-curves --exps "$fig1" --series "$teacher_series" --skip-missing \
    --title "deepdream vs GAN-like: teacher score and DNSMOS OVRL (paper 000, Fig. 1)" \
    --out "$exp/figures/fig1_deepdream_vs_gan.png"
  end_stage 12 "$fig1 $systems"
fi
# Fig. 2: deepdream with each teacher (Q_Vox2+DNSMOS CNN / BLSTM / CNN-BLSTM; the Q_IUB ones)
fig2="CNN=$exp/deepdream,BLSTM=$exp/deepdream_blstm,CNN-BLSTM=$exp/deepdream_cnn_blstm"
fig2="$fig2,IUB CNN=$exp/deepdream_iub,IUB BLSTM=$exp/deepdream_iub_blstm"
fig2="$fig2,IUB CNN-BLSTM=$exp/deepdream_iub_cnn_blstm"
if begin_stage 13 "$fig2 $systems" "deepdream with each teacher (paper 000 Fig. 2)"; then
  sebench plot-curves --exps "$fig2" --series "$teacher_series" --skip-missing \
    --title "deepdream per teacher: teacher score and DNSMOS OVRL (paper 000, Fig. 2)" \
    --out "$exp/figures/fig2_teachers.png"
  end_stage 13 "$fig2 $systems"
fi
# Fig. 3: one test utterance, noisy and each teacher's deepdream output (log-mel)
if begin_stage 14 "$systems" "spectrograms per teacher (paper 000 Fig. 3)"; then
  key=$(head -n 1 "$data/test/wav.scp" | cut -d' ' -f1)
  panels="Noisy=$data/test,Q CNN=$exp/enh/deepdream/test,Q BLSTM=$exp/enh/deepdream_blstm/test"
  panels="$panels,Q CNN-BLSTM=$exp/enh/deepdream_cnn_blstm/test"
  sebench plot-spectrogram --key "$key" --panels "$panels" --skip-missing \
    --title "$key: deepdream outputs per teacher (paper 000, Fig. 3)" \
    --out "$exp/figures/fig3_spectrograms.png"
  end_stage 14 "$systems"
fi
