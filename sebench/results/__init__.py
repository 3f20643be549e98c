"""Results of a recipe: the evaluation policy (``conf/eval.yaml``) and the RESULTS.md table."""
