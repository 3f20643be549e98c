"""Recipe declarations read by the shared stage script ``egs/TEMPLATE/se1/se.sh``:
config overlays (``--confdir``) and the stage items of ``conf/recipe.yaml``."""
