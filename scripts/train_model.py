"""Train the Rasa model only when its inputs changed; models are cached by a hash of those inputs.

Inputs: config.yml, domain.yml, every file under nlu/ (training data, Jieba dictionary), the custom
engine components under rasa_components/, and the engine lock (a new Rasa version means a new
model). The cache lives outside the work tree
($HOTLINE_MODEL_CACHE, default ~/.cache/hotline12348/models) so fresh clones and CI runs on the same
machine reuse it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("config.yml", "domain.yml", "requirements-rasa.lock")
CACHE = Path(os.environ.get("HOTLINE_MODEL_CACHE", Path.home() / ".cache" / "hotline12348" / "models"))
RASA = Path(os.environ.get("RASA_BIN", ROOT / ".venv-rasa" / "bin" / "rasa"))


def inputs_hash() -> str:
    digest = hashlib.sha256()
    files = [ROOT / name for name in INPUTS]
    for folder in ("nlu", "rasa_components"):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def rasa_cache_dir() -> str:
    """Rasa's own training cache, keyed by the Jieba dictionary.

    Rasa fingerprints the tokenizer's config, not the files in `dictionary_path`, so after a dictionary
    edit it would silently reuse components trained with the old dictionary.
    """
    digest = hashlib.sha256()
    for path in sorted((ROOT / "nlu" / "jieba").glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return str(ROOT / ".rasa" / f"cache-{digest.hexdigest()[:12]}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Train the Rasa model if its inputs changed (cached).")
    parser.add_argument("--force", action="store_true", help="retrain even if a cached model exists")
    args = parser.parse_args()
    key = inputs_hash()
    models = ROOT / "models"
    models.mkdir(exist_ok=True)
    target = models / f"{key}.tar.gz"
    cached = CACHE / f"{key}.tar.gz"
    if not args.force and not target.exists() and cached.exists():
        shutil.copy2(cached, target)
        print(f"✓ model {key} taken from cache {cached}", file=sys.stderr)
    if args.force or not target.exists():
        print(f"· training model {key} (inputs changed)…", file=sys.stderr)
        started = time.monotonic()
        subprocess.run(
            [
                str(RASA),
                "train",
                "--data",
                "nlu",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--out",
                "models",
                "--fixed-model-name",
                key,
            ],
            cwd=ROOT,
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_CACHE_DIRECTORY": rasa_cache_dir()},
        )
        print(f"✓ trained in {time.monotonic() - started:.1f} s", file=sys.stderr)
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached)
    else:
        print(f"✓ model {key} up to date, no training needed", file=sys.stderr)
    current = models / "current.tar.gz"
    current.unlink(missing_ok=True)
    current.symlink_to(target.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
