"""The role guides in docs/guides/ show only screenshots a browser test makes: every image a guide links exists
in docs/guides/img/, every image there is linked by a guide and is named by a `shoot(...)` call (or a screenshot
path) of a browser test, so a guide cannot point at a picture nobody retakes when the page changes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.PROJECT_DIR)
GUIDES = ROOT / "docs" / "guides"
IMG = GUIDES / "img"
ROLE_GUIDES = (
    "operator.md",
    "department.md",
    "grid-staff.md",
    "grid-head-leader.md",
    "administrator.md",
    "phone.md",
    "registry.md",
)
MAX_BYTES = 150 * 1024
IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)\)")
CJK = re.compile(r"[\u4e00-\u9fff]")


def guides() -> list[Path]:
    return sorted(GUIDES.glob("*.md"))


def images_linked(guide: Path) -> list[tuple[str, str]]:
    """(alt text, target) of every image the guide shows."""
    return IMAGE_LINK.findall(guide.read_text(encoding="utf-8"))


def _pattern(node: ast.expr) -> str | None:
    """A regex for the file name a string expression builds (an f-string's fields match anything)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # ARTIFACTS / f"name-{tag}.png"
        return _pattern(node.right)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(re.escape(str(value.value)))
            else:
                parts.append(r"[^/]+")
        return "".join(parts)
    return None


def shot_patterns() -> list[re.Pattern[str]]:
    """The screenshot names the browser tests make: the name given to `shoot(page, name)` (or a `shoot_…`
    helper of a test, same arguments) and the path given to
    `page.screenshot(path=...)`, as patterns over the PNG's file name."""
    patterns = []
    for path in (ROOT / "gridgov").rglob("test_*browser*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            expr: ast.expr | None = None
            if name.startswith("shoot") and len(node.args) >= 2:  # shoot(page, name) and its kin
                expr = node.args[1]
                suffix = r"\.png"
            elif name == "screenshot":
                expr = next((k.value for k in node.keywords if k.arg == "path"), None)
                suffix = ""
            if expr is None:
                continue
            pattern = _pattern(expr)
            if pattern is not None:
                patterns.append(re.compile(pattern + suffix))
    return patterns


def test_there_is_a_guide_per_role_and_an_index_linking_them():
    for name in ROLE_GUIDES:
        assert (GUIDES / name).is_file(), f"docs/guides/{name} is missing"
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(index))
    assert set(ROLE_GUIDES) <= linked, f"README.md does not link {set(ROLE_GUIDES) - linked}"
    for guide in guides():
        for target in LINK.findall(guide.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (guide.parent / target).exists(), f"{guide.name} links {target}, which does not exist"


@pytest.mark.parametrize("name", ROLE_GUIDES)
def test_each_guide_is_in_chinese_first_then_english_and_shows_its_screens(name):
    text = (GUIDES / name).read_text(encoding="utf-8")
    title, _, rest = text.partition("\n")
    assert title.startswith("# ") and CJK.search(title), f"{name} starts with its Chinese title"
    chinese, rule, english = rest.partition("\n---\n")
    assert rule, f"{name}: the English part follows a --- rule after the Chinese one"
    assert re.search(r"^# [A-Za-z]", english, re.M), f"{name}: the English part has its own title"
    assert len(CJK.findall(chinese)) > 200
    assert images_linked(GUIDES / name), f"{name} shows no screenshot"


def test_every_image_a_guide_shows_exists_and_is_linked_relatively():
    for guide in guides():
        for alt, target in images_linked(guide):
            assert alt.strip(), f"{guide.name}: the image {target} has no alt text"
            assert not target.startswith(("/", "http:", "https:")), f"{guide.name}: {target} is not relative"
            assert target.startswith("img/") and target.endswith(".png"), f"{guide.name}: {target}"
            assert (guide.parent / target).is_file(), (
                f"{guide.name} shows {target}, which is not in docs/guides/img/"
            )


def test_every_image_is_shown_by_a_guide_small_and_made_by_a_browser_test():
    images = sorted(IMG.glob("*"))
    assert images, "docs/guides/img/ holds no screenshot"
    shown = {Path(target).name for guide in guides() for _alt, target in images_linked(guide)}
    patterns = shot_patterns()
    assert patterns, "no browser test takes a screenshot"
    for image in images:
        assert image.suffix == ".png", f"{image.name}: only PNG screenshots belong here"
        assert image.name in shown, f"{image.name} is shown by no guide: remove it"
        assert any(p.fullmatch(image.name) for p in patterns), (
            f"{image.name} is made by no browser test (no shoot(page, '{image.stem}') in gridgov/**/test_*browser*.py)"
        )
        assert image.stat().st_size <= MAX_BYTES, f"{image.name} is {image.stat().st_size} bytes: compress it"


def test_the_check_of_screenshot_names_can_fail():
    patterns = shot_patterns()
    assert any(p.fullmatch("walk-01-operator-home.png") for p in patterns)
    assert not any(p.fullmatch("walk-99-nobody-takes-this.png") for p in patterns)
    assert any(p.fullmatch("map-county-desktop.png") for p in patterns)  # a screenshot(path=ARTIFACTS / f"…")
