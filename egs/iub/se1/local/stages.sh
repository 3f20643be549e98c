# egs/iub/se1's own stages (sourced by se.sh after stage 10; see egs/TEMPLATE/README.md).
# Stage 11: pack every trained predictor, so another recipe can load it as a teacher:
#   egs/vox2/se1: --method_options.qp ../../iub/se1/exp/packed/qp_cnn.zip
predictors="qp_cnn qp_blstm qp_cnn_blstm"
if begin_stage 11 "pack ${predictors}" "pack the predictors"; then
  for name in ${predictors}; do
    if [ -f "$exp/$name/.done" ]; then
      say "pack $name: sebench pack $exp/$name $exp/packed/$name.zip"
      sebench pack "$exp/$name" "$exp/packed/$name.zip"
    fi
  done
  end_stage 11 "pack ${predictors}"
fi
