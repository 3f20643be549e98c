# egs/vbd/se1's own stages, sourced by se.sh after stage 10 (begin_stage/end_stage are se.sh's).
# Stage 11: paper 004's Fig. 2, CSIG vs CBAK of Adv-IRM per beta, from the score stage's
# output (the points of the systems this run scored: `--systems` may select some).
sweep="0.6=adv_irm_beta06,0.7=adv_irm_beta07,0.8=adv_irm,0.9=adv_irm_beta09"
if begin_stage 11 "$sweep $systems" "beta sweep: CSIG vs CBAK per beta (paper 004 Fig. 2)"; then
  sebench plot-sweep --scores "$exp/scores" --set test --points "$sweep" --param beta \
    --x csig --y cbak --title "Adv-IRM: CSIG vs CBAK per beta (paper 004, Fig. 2)" \
    --skip-missing --out "$exp/beta_sweep.png"
  end_stage 11 "$sweep $systems"
fi

# Stage 12: paper 004's Table IV, the mean L2 norm of each model's encoder output for the
# oracle clean and the oracle noise (noise.scp) of the test set, and their ratio.
norm_systems="nonadv adv_ibm adv_irm coop_ibm coop_irm"
norm_models=$(for s in $norm_systems; do printf '%s=%s,' "$s" "$exp/$s"; done)
if begin_stage 12 "$norm_systems $systems" "encoder norms, clean vs noise (paper 004 Table IV)"; then
  sebench encoder-norms --data "$data/test" --systems "$norm_models" --eval "$conf/eval.yaml" \
    --skip-missing --out "$exp/encoder_norms.md"
  end_stage 12 "$norm_systems $systems"
fi
