# egs/dns/vq1's own stages, sourced by se.sh after stage 10 (begin_stage/end_stage are se.sh's).
fractions="10 20 30 40"
# Stage 11: paper 001's Fig. 5, the VQ-VAE's average triplet margin d(e,q_s) - d(e,q_n) on the
# validation triples against their global SNR, for each paired fraction's VQ-VAE this run
# trained (it should fall as the SNR rises): exp/vqvae_pF/margin/{margin_vs_snr.png,summary.json},
# then the paper's figure, one line per fraction: exp/margin_vs_snr.{png,md}.
if begin_stage 11 "$fractions $systems" "triplet margin vs SNR per VQ-VAE (paper 001 Fig. 5)"; then
  runs=""
  for f in $fractions; do
    [ -f "$exp/vqvae_p$f/.done" ] || continue
    sebench vq-margin "$exp/vqvae_p$f" "$data/vqvae_valid" --out "$exp/vqvae_p$f/margin"
    runs="$runs $f=$exp/vqvae_p$f/margin"
  done
  [ -z "$runs" ] || sebench plot-margins $runs --out "$exp/margin_vs_snr.png"
  end_stage 11 "$fractions $systems"
fi

# Stage 12: paper 001's Figs. 3-4: the SI-SDR and PESQ improvement over the unprocessed input
# against the paired fraction, one line per configuration, on seen and unseen noise
# (exp/sweep/improvement_<set>.{png,md}); and PESQ against SI-SDR of each configuration per
# fraction (exp/sweep/<config>_<set>.{png,md}); the points this run scored.
configs="baseline paired_emb paired_feat unpaired_emb unpaired_feat"
if begin_stage 12 "$fractions $configs $systems" "PESQ and SI-SDR per paired fraction (paper 001 Figs. 3-4)"; then
  mkdir -p "$exp/sweep"
  series=$(for config in $configs; do printf '%s=%s_p{},' "$config" "$config"; done)
  for set in test_seen test_unseen; do
    sebench plot-lines --scores "$exp/scores" --set "$set" --values "${fractions// /,}" \
      --series "${series%,}" --metrics sisdr,pesq_wb --relative-to noisy --param "paired %" \
      --skip-missing --title "improvement over noisy, $set" \
      --out "$exp/sweep/improvement_${set}.png"
  done
  for config in $configs; do
    points=$(for f in $fractions; do printf '%s=%s_p%s,' "$f" "$config" "$f"; done)
    for set in test_seen test_unseen; do
      sebench plot-sweep --scores "$exp/scores" --set "$set" --points "${points%,}" \
        --param paired% --x pesq_wb --y sisdr --skip-missing \
        --title "$config, $set: per paired %" \
        --out "$exp/sweep/${config}_${set}.png"
    done
  done
  end_stage 12 "$fractions $configs $systems"
fi

# Stage 13: the triplet weight x margin, which the paper leaves open ("m is a constant"), swept
# on the validation set at one paired fraction for each triplet loss (conf/triplet_sweep_*.yaml
# declares the grid and the criterion, the best validation supervised loss): one Paired-*
# training per point, exp/triplet_sweep/<config>/{table.md,chosen.json}. The embedding loss
# (cosine) and the feature loss (squared error of normalised log-power) get their own chosen
# margin: their scales differ. Copy the chosen values into conf/train_<config>.yaml (and the
# Unpaired-* configs of the same loss) to use them.
sweep_fraction=20
sweep_configs="paired_emb paired_feat"
if begin_stage 13 "$sweep_fraction $sweep_configs" "triplet weight x margin sweep (validation set)"; then
  if [ -f "$exp/vqvae_p$sweep_fraction/.done" ]; then
    device_opts=""
    if [ "$ngpu" -eq 0 ]; then device_opts="--device cpu"; fi
    for config in $sweep_configs; do
      say "triplet sweep $config: sebench grid-sweep (log $exp/log/triplet_sweep_$config.log)"
      ${cuda_cmd} --gpu "$ngpu" "$exp/log/triplet_sweep_$config.log" \
        sebench grid-sweep --grid "$conf/triplet_sweep_$config.yaml" \
        --out "$exp/triplet_sweep/$config" --title "triplet weight x margin: $config" -- \
        train --config "$conf/train_$config.yaml" --model-config "$conf/gru.yaml" \
        --train "paired=$data/paired_p$sweep_fraction" --valid "$data/paired_valid" \
        --seed "$seed" --method_options.vqvae "$exp/vqvae_p$sweep_fraction" $device_opts
    done
  else
    say "stage 13: no VQ-VAE of paired fraction $sweep_fraction ($exp/vqvae_p$sweep_fraction): skipped"
  fi
  end_stage 13 "$sweep_fraction $sweep_configs"
fi
