"""Copy the screenshots the guides show from test-artifacts/ into docs/guides/img/, compressed.

Run the browser tests first (`.venv/bin/pytest -m browser gridgov/tests/test_walks_browser.py`), then
`.venv/bin/python docs/guides/update_images.py`. Images no guide shows any more are removed;
`gridgov/tests/test_guides.py` checks the result."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from PIL import Image

GUIDES = Path(__file__).resolve().parent
ROOT = GUIDES.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
IMG = GUIDES / "img"
LIMIT = 150 * 1024


def shown() -> set[str]:
    names: set[str] = set()
    for guide in GUIDES.glob("*.md"):
        names |= {Path(t).name for t in re.findall(r"!\[[^\]]*\]\((img/[^)\s]+)\)", guide.read_text("utf-8"))}
    return names


def compress(path: Path) -> bytes:
    """A 256-colour PNG (screenshots of pages have few colours); fewer colours if still too big."""
    image = Image.open(path).convert("RGB")
    for colours in (256, 128, 64):
        buf = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            buf, "PNG", optimize=True
        )
        if buf.tell() <= LIMIT:
            break
    return buf.getvalue()


def main() -> int:
    IMG.mkdir(exist_ok=True)
    names = shown()
    missing = sorted(n for n in names if not (ARTIFACTS / n).is_file())
    if missing:
        print("not in test-artifacts/ (run the browser tests first):", ", ".join(missing), file=sys.stderr)
        return 1
    for old in IMG.glob("*"):
        if old.name not in names:
            old.unlink()
    for name in sorted(names):
        data = compress(ARTIFACTS / name)
        (IMG / name).write_bytes(data)
        print(f"{name:45s} {len(data) // 1024:>4d} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
