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
