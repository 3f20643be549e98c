# egs/vbd/se1's own stages, sourced by se.sh after stage 10 (begin_stage/end_stage are se.sh's).
# run_of SYSTEM: the experiment whose model a figure shows: a system trained with several
# seeds (exp/SYSTEM/seed<N>/) shows its first seed's.
run_of() {
  local first
  first=$(ls -d "$exp/$1"/seed[0-9]* 2>/dev/null | sort -V | head -n 1 || true)
  echo "${first:-$exp/$1}"
}
# Stage 11: paper 004's Fig. 2, CSIG vs CBAK of Adv-IRM per beta, from the score stage's
# output (the points of the systems this run scored: `--systems` may select some).
sweep="0.5=adv_irm_beta05,0.6=adv_irm_beta06,0.7=adv_irm_beta07,0.8=adv_irm_beta08,0.9=adv_irm_beta09"
sweep="${sweep},0.95=adv_irm_beta095"
if begin_stage 11 "$sweep $systems" "beta sweep: CSIG vs CBAK per beta (paper 004 Fig. 2)"; then
  sebench plot-sweep --scores "$exp/scores" --set test --points "$sweep" --param beta \
    --x csig --y cbak --title "Adv-IRM: CSIG vs CBAK per beta (paper 004, Fig. 2)" \
    --skip-missing --out "$exp/beta_sweep.png"
  end_stage 11 "$sweep $systems"
fi

# Stage 12: paper 004's Table IV, the mean L2 norm of each model's encoder output for the
# oracle clean and the oracle noise (noise.scp) of the test set, and their ratio.
norm_systems="nonadv adv_ibm adv_irm coop_ibm coop_irm"
norm_models=$(for s in $norm_systems; do printf '%s=%s,' "$s" "$(run_of "$s")"; done)
if begin_stage 12 "$norm_systems $systems" "encoder norms, clean vs noise (paper 004 Table IV)"; then
  sebench encoder-norms --data "$data/test" --systems "$norm_models" --eval "$conf/eval.yaml" \
    --skip-missing --out "$exp/encoder_norms.md"
  end_stage 12 "$norm_systems $systems"
fi

# Stage 13: paper 004's Figs. 3-4 for one test utterance (the first key of the test set):
# log-mel spectrograms of clean / noisy / Non-Adv / Adv-IRM (Fig. 3) and the encoder feature
# maps log|E(Y)| of the noisy input for Adv-IRM and Non-Adv (Fig. 4).
if begin_stage 13 "$systems" "spectrograms and encoder feature maps (paper 004 Figs. 3-4)"; then
  key=$(head -n 1 "$data/test/wav.scp" | cut -d' ' -f1)
  nonadv_run=$(run_of nonadv); adv_run=$(run_of adv_irm)
  enh_of() { echo "$exp/enh/$1${2#"$exp/$1"}/test"; }   # exp/enh/<system>[/seedN]/test
  sebench plot-spectrogram --key "$key" --skip-missing \
    --panels "Clean=$data/test/clean.scp,Noisy=$data/test,Non-Adv=$(enh_of nonadv "$nonadv_run"),Adv-IRM=$(enh_of adv_irm "$adv_run")" \
    --title "$key: log-mel spectrograms (paper 004, Fig. 3)" --out "$exp/figures/fig3_spectrograms.png"
  sebench plot-spectrogram --key "$key" --skip-missing --encoder-input "$data/test" \
    --encoders "Adv-IRM log|E(Y)|=$adv_run,Non-Adv log|E(Y)|=$nonadv_run" \
    --title "$key: encoder outputs (paper 004, Fig. 4)" --out "$exp/figures/fig4_encoder_maps.png"
  end_stage 13 "$systems"
fi
