# egs/dns/se1's own stages (sourced by se.sh after stage 10; see egs/TEMPLATE/README.md).
# Stage 11: PESQNet's accuracy, paper 002's Tables I-II and Figs. 7-8: MAE and LCC of its
# estimate against true P.862.2 PESQ on the noisy inputs and the FCRN's outputs of the DNS1
# synthetic sets. Table II (and Fig. 8): after first-stage fine-tuning (fcrn + pesqnet_ft),
# per reverberation condition. Table I (and Fig. 7) was measured on a WSJ0 test set after
# pre-training; with no WSJ0 here its stand-in is the same pair after pre-training (fcrn_pre
# + pesqnet_pre) on DNS1's dry no_reverb set (docs/papers/002.md).
dns1="no_reverb=$data/test_synthetic_no_reverb,with_reverb=$data/test_synthetic_with_reverb"
if begin_stage 11 "$dns1" "PESQNet accuracy (paper 002 Tables I-II, Figs. 7-8)"; then
  if [ -f "$exp/fcrn_pre/model/model.pt" ] && [ -f "$exp/pesqnet_pre/model_pesqnet/model.pt" ]; then
    sebench pesqnet-accuracy --se "$exp/fcrn_pre" --pesqnet "$exp/pesqnet_pre" \
      --conditions "no_reverb=$data/test_synthetic_no_reverb" \
      --title "PESQNet after pre-training (paper 002 Table I / Fig. 7 stand-in: DNS1 no_reverb)" \
      --out "$exp/pesqnet_accuracy/table1"
  else
    say "stage 11: fcrn_pre or pesqnet_pre not trained: no Table I"
  fi
  if [ -f "$exp/fcrn/model/model.pt" ] && [ -f "$exp/pesqnet_ft/model_pesqnet/model.pt" ]; then
    sebench pesqnet-accuracy --se "$exp/fcrn" --pesqnet "$exp/pesqnet_ft" --conditions "$dns1" \
      --title "PESQNet after first-stage fine-tuning (paper 002 Table II / Fig. 8)" \
      --out "$exp/pesqnet_accuracy/table2"
  else
    say "stage 11: fcrn or pesqnet_ft not trained: no Table II"
  fi
  end_stage 11 "$dns1"
fi

# Stage 12: Figs. 9-10 (and the paper's Figs. 11-12 layout) from the alpha = 0 <1-1>
# experiment's log: J_total with PESQNet's estimate, PESQNet's MAE and the mean true PESQ per
# epoch tau, measured on the system's validation set (finetune_valid, a DNS3-style subset).
if begin_stage 12 "pesqnet" "<1-1> training curves (paper 002 Figs. 9-12)"; then
  if [ -f "$exp/pesqnet/valid_log.csv" ]; then
    sebench pesqnet-curves --exp "$exp/pesqnet" --label "validation set (finetune_valid)" \
      --out "$exp/pesqnet_curves"
  else
    say "stage 12: pesqnet not trained: no curves"
  fi
  end_stage 12 "pesqnet"
fi
