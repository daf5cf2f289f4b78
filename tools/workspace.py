"""The student's workspace: your own copies of the notebooks, which the course never overwrites.

    python tools/workspace.py sync     # what `make lab` runs before opening JupyterLab on work/

``notebooks/`` holds the course's student versions, tracked by git: they change when the course is
updated (``git pull``). A student works in ``work/`` (git-ignored), so saving outputs and answers
never touches a tracked file and never conflicts with an update.

``sync`` copies every course notebook that is not in ``work/`` yet. For each copy it keeps the
course version it started from in ``work/.course/``, so it can tell later whether the student has
touched the copy:

* untouched, and the course has a newer version: the copy is refreshed (nothing of yours is lost);
* touched, and the course has a newer version: your copy is kept, and a line says where the new
  version is (``notebooks/NAME``) — open it side by side, or rename your copy and run ``make lab``
  again to get a fresh one;
* touched, no newer version: nothing to say.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "notebooks"
WORK = ROOT / "work"
PRISTINE = ".course"


def sync(course: Path = COURSE, work: Path = WORK) -> list[str]:
    """Bring ``work`` up to date with ``course`` without overwriting a notebook the student touched.

    Returns one line per notebook that was copied, refreshed or kept although newer.
    """
    pristine_dir = work / PRISTINE
    pristine_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for source in sorted(course.glob("*.ipynb")):
        mine, pristine = work / source.name, pristine_dir / source.name
        new = source.read_bytes()
        if not mine.exists():
            shutil.copyfile(source, mine)
            shutil.copyfile(source, pristine)
            lines.append(f"new       work/{source.name}")
            continue
        started_from = pristine.read_bytes() if pristine.exists() else None
        if started_from == new:
            continue  # the course has not changed this notebook since the copy was made
        if started_from is not None and mine.read_bytes() == started_from:
            shutil.copyfile(source, mine)  # untouched: take the course's new version
            shutil.copyfile(source, pristine)
            lines.append(f"updated   work/{source.name} (you had not changed it)")
        else:
            lines.append(
                f"kept      work/{source.name}: yours has changes; a newer course version is notebooks/{source.name}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["sync"])
    parser.parse_args(argv)
    lines = sync()
    for line in lines:
        print(line)
    print(f"your workspace: {WORK.relative_to(ROOT)}/ ({len(list(WORK.glob('*.ipynb')))} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
