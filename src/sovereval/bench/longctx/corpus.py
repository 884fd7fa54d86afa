"""Korean text for long documents, read from the shared benchmark data (deterministic order).

Sources (``sources=`` names):

* ``kobest`` (default): KoBEST v1.0 BoolQ passages (dev + test), HellaSwag contexts, COPA premises —
  CC-BY-SA-4.0, so generated documents that contain them inherit that licence;
* ``click``: CLIcK paragraphs (no licence stated: research use only);
* ``kmmlu``: KMMLU Criminal-Law questions (CC-BY-ND-4.0: fine for private evaluation, do not publish the
  generated documents).

BoolQ passage/question pairs also feed the QA task (:func:`load_boolq`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
SOURCES = ("kobest", "click", "kmmlu")


@dataclass(frozen=True)
class BoolQ:
    id: str
    passage: str
    question: str
    answer: bool


def _tsv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def _korean(text: str, min_hangul: int = 20) -> bool:
    return len(_HANGUL.findall(text)) >= min_hangul


def load_boolq(data_root: str | Path, splits: Sequence[str] = ("test",)) -> list[BoolQ]:
    root = Path(data_root) / "kobest" / "v1.0" / "BoolQ"
    out = []
    for split in splits:
        for r in _tsv(root / f"{split}.tsv"):
            out.append(BoolQ(id=f"{split}-{r['ID']}", passage=r["Text"].strip(), question=r["Question"].strip(),
                             answer=r["Answer"].strip().lower() in ("true", "1")))
    return out


def load_passages(data_root: str | Path, sources: Sequence[str] = ("kobest",)) -> list[str]:
    """Distinct Korean passages (at least 20 Hangul syllables each), in a fixed order."""
    root = Path(data_root)
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; known: {SOURCES}")
    texts: list[str] = []
    if "kobest" in sources:
        kb = root / "kobest" / "v1.0"
        for split in ("dev", "test"):
            texts += [r["Text"] for r in _tsv(kb / "BoolQ" / f"{split}.tsv")]
            texts += [r["context"] for r in _tsv(kb / "HellaSwag" / f"{split}.tsv")]
            texts += [r["sentence"] for r in _tsv(kb / "COPA" / f"{split}.tsv")]
    if "click" in sources:
        for f in sorted((root / "click" / "Dataset").rglob("*.json")):
            texts += [str(d.get("paragraph") or "") for d in json.loads(f.read_text(encoding="utf-8"))]
    if "kmmlu" in sources:
        for f in sorted((root / "kmmlu" / "data").glob("*.csv")):
            with f.open(encoding="utf-8", newline="") as fh:
                texts += [r["question"] for r in csv.DictReader(fh)]
    seen: set[str] = set()
    out = []
    for t in texts:
        t = re.sub(r"\s+", " ", t).strip()
        if t and t not in seen and _korean(t):
            seen.add(t)
            out.append(t)
    if not out:
        raise ValueError(f"no Korean passages found under {root} for sources {list(sources)}")
    return out
