"""``sebench pack``: one zip with a model's config, weights, normalisation stats and results."""
import hashlib
import os
import zipfile

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_path

EXTRA_FILES = ("config.yaml", "RESULTS.md", "learning_curves.png", "valid_log.csv")


def pack(exp_dir, out_zip):
    from sebench.train.export import CONFIG_FILE, INFO_FILE, MODEL_FILE, resolve_model_dir
    model_dir = resolve_model_dir(exp_dir)
    exp = os.path.dirname(model_dir.rstrip("/")) if os.path.basename(model_dir.rstrip("/")) == "model" \
        else model_dir
    with atomic_path(out_zip) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in (MODEL_FILE, CONFIG_FILE, INFO_FILE):
            z.write(os.path.join(model_dir, name), f"model/{name}")
        for name in EXTRA_FILES:
            if os.path.isfile(os.path.join(exp, name)):
                z.write(os.path.join(exp, name), name)
    return out_zip


def unpack(zip_path, cache_dir=None):
    """Extract once into a cache folder named by the zip's content hash; returns model/."""
    with open(zip_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    root = cache_dir or os.environ.get("SEBENCH_CACHE_DIR") or os.path.expanduser("~/.cache/sebench")
    target = os.path.join(root, "models", digest)
    model_dir = os.path.join(target, "model")
    if not os.path.isfile(os.path.join(model_dir, "model.pt")):
        tmp = target + f".tmp{os.getpid()}"
        try:
            with zipfile.ZipFile(zip_path) as z:
                if "model/model.pt" not in z.namelist():
                    raise SebenchError(f"{zip_path}: not a sebench model pack (no model/model.pt)")
                z.extractall(tmp)
        except zipfile.BadZipFile as e:
            raise SebenchError(f"{zip_path}: not a zip file ({e})") from None
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.replace(tmp, target)
        except OSError:   # another process unpacked it first
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    return model_dir
