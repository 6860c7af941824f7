#!/usr/bin/env python3
"""Checks quality/questions/<name>.toml against the fetched corpora.

Each corpus file is split at Markdown headings (ATX `#`..`######` and setext, ignoring lines
inside ``` / ~~~ fences and front matter); the text before the first heading is the file's
intro. A section's haystack is its heading plus its text, lower-cased, with Markdown markup
(emphasis, code spans, link targets, HTML tags) removed and whitespace collapsed, roughly as
careerbot's plain text reads.

For every question it reports how many sections contain all of its `terms` (must be >= 1;
warned when > 3), and whether the section named in `passage` ("path/file.md › Heading", or
"path/file.md › (intro)") is one of them. It also checks fields, kinds and the dev/held split
(every third question of a file is "held").

Usage:
  python3 quality/check_questions.py              # check every corpus with a questions file
  python3 quality/check_questions.py --verbose    # also list each question's matches
  python3 quality/check_questions.py --dump NAME  # print NAME's sections (for writing questions)

Corpora are read from $CAREERBOT_QUALITY_DIR (default
${XDG_CACHE_HOME:-~/.cache}/careerbot/quality); run `bash quality/fetch.sh` first.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("paraphrase", "question", "keywords", "typo")
MD_EXT = (".md", ".mdx", ".markdown")


def corpora_dir() -> Path:
    if os.environ.get("CAREERBOT_QUALITY_DIR"):
        return Path(os.environ["CAREERBOT_QUALITY_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "careerbot" / "quality"


@dataclass
class Section:
    file: str  # path relative to the corpus folder
    heading: str  # "" for the intro
    level: int
    parents: list[str]
    raw: str

    @property
    def label(self) -> str:
        return f"{self.file} › {self.heading or '(intro)'}"


ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
ATTRS = re.compile(r"\s*\{[^{}]*\}\s*$")


def strip_front_matter(text: str) -> str:
    for fence in ("---", "+++"):
        first, _, rest = text.partition("\n")
        if first.strip() == fence:
            lines = rest.split("\n")
            for i, line in enumerate(lines):
                if line.rstrip() == fence:
                    return "\n".join(lines[i + 1 :])
    return text


def clean_heading(h: str) -> str:
    h = ATTRS.sub("", h or "")  # {#id .class} or {: #id }
    h = re.sub(r"(^|[ \t]+)#+[ \t]*$", "", h)  # closing #s
    return h.strip()


def split_sections(rel: str, text: str) -> list[Section]:
    lines = strip_front_matter(text).split("\n")
    sections = [Section(rel, "", 0, [], "")]
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    fence: str | None = None

    def open_section(level: int, heading: str, drop_last_line: bool = False) -> None:
        nonlocal buf
        if drop_last_line and buf:
            buf.pop()
        sections[-1].raw = "\n".join(buf)
        buf = []
        while stack and stack[-1][0] >= level:
            stack.pop()
        sections.append(Section(rel, heading, level, [h for _, h in stack], ""))
        stack.append((level, heading))

    for i, line in enumerate(lines):
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and all(c == fence[0] for c in stripped):
                fence = None
            buf.append(line)
            continue
        m = FENCE.match(line)
        if m:
            fence = m.group(1)
            buf.append(line)
            continue
        m = ATX.match(line)
        if m:
            open_section(len(m.group(1)), clean_heading(m.group(2) or ""))
            continue
        prev = lines[i - 1] if i > 0 else ""
        if (
            re.fullmatch(r" {0,3}(=+|-+)[ \t]*", line)
            and prev.strip()
            and buf
            and not re.match(r"^\s*([-*+]|\d+[.)]|>|\||!!!|\?\?\?|:::)", prev)
            and not prev.startswith("    ")
        ):
            level = 1 if "=" in line else 2
            open_section(level, clean_heading(prev.strip()), drop_last_line=True)
            continue
        buf.append(line)
    sections[-1].raw = "\n".join(buf)
    return sections


def plain(text: str) -> str:
    """Lower-cased text with Markdown markup removed and whitespace collapsed."""
    out = []
    for line in text.split("\n"):
        t = line.strip()
        # careerbot drops these marker lines: mkdocs admonitions, MDX imports, ::: fences
        if t.startswith(("!!! ", "??? ", "???+ ", ":::")) or re.match(r"^(import|export) .+ from ", t):
            continue
        out.append(line)
    s = "\n".join(out)
    s = re.sub(r"!\[([^\]]*)\]\([^)]*\)", " ", s)  # images
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)  # inline links keep their text
    s = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", s)  # reference links
    s = re.sub(r"<[^>\n]+>", " ", s)  # HTML tags
    s = s.replace("`", "")
    s = re.sub(r"(\*\*|__|\*)", "", s)
    s = re.sub(r"(?<![\w])_([^_\n]+)_(?![\w])", r"\1", s)  # _emphasis_
    s = re.sub(r"\s+", " ", s)
    return s.lower().strip()


def load_corpus(root: Path) -> list[Section]:
    sections: list[Section] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.lower().endswith(MD_EXT):
            rel = path.relative_to(root).as_posix()
            sections.extend(split_sections(rel, path.read_text(encoding="utf-8")))
    # Drop empty intros (files that start with a heading).
    return [s for s in sections if s.heading or s.raw.strip()]


def norm_label(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("`", "")).strip().lower()


def check(name: str, root: Path, qfile: Path, verbose: bool) -> tuple[int, int]:
    sections = load_corpus(root)
    hay = [plain(s.heading + "\n" + s.raw) for s in sections]
    crumb = [plain(" ".join(s.parents) + "\n" + s.heading + "\n" + s.raw) for s in sections]
    by_label: dict[str, list[int]] = collections.defaultdict(list)
    for i, s in enumerate(sections):
        by_label[norm_label(s.label)].append(i)
    files = len({s.file for s in sections})
    questions = tomllib.loads(qfile.read_text(encoding="utf-8")).get("question", [])
    errors = warnings = 0
    counts = collections.Counter()
    kinds = collections.Counter()
    splits = collections.Counter()
    by_file: dict[str, int] = collections.Counter()
    seen_q = set()
    print(f"== {name}: {files} files, {len(sections)} sections, {len(questions)} questions")
    for n, q in enumerate(questions, 1):
        problems = []
        for key in ("q", "terms", "passage", "kind", "split"):
            if key not in q:
                problems.append(f"missing {key}")
        if problems:
            print(f"  ERROR #{n}: {', '.join(problems)}")
            errors += 1
            continue
        kinds[q["kind"]] += 1
        splits[q["split"]] += 1
        if q["kind"] not in KINDS:
            problems.append(f"kind {q['kind']!r} not one of {KINDS}")
        want = "held" if n % 3 == 0 else "dev"
        if q["split"] != want:
            problems.append(f"split should be {want!r} (every third question is held)")
        if q["q"].strip().lower() in seen_q:
            problems.append("duplicate question")
        seen_q.add(q["q"].strip().lower())
        terms = [t.lower() for t in q["terms"]]
        if not terms or any(not t.strip() for t in terms):
            problems.append("empty terms")
        hits = [i for i, h in enumerate(hay) if all(t in h for t in terms)]
        crumb_hits = [i for i, h in enumerate(crumb) if all(t in h for t in terms)]
        counts[min(len(hits), 4)] += 1
        named = by_label.get(norm_label(q["passage"]), [])
        # A file may repeat a heading; the passage is the one of them that has the terms.
        target = next((i for i in named if i in hits), named[0] if named else None)
        if target is None:
            problems.append(f"passage {q['passage']!r} names no section")
        else:
            by_file[sections[target].file] += 1
            if target not in hits:
                missing = [t for t in terms if t not in hay[target]]
                problems.append(f"passage lacks terms {missing}")
        if not hits:
            problems.append("no section contains all terms")
        if norm_label(q["q"]) in {norm_label(s.heading) for s in sections}:
            problems.append("question copies a heading verbatim")
        if problems:
            errors += 1
            print(f"  ERROR #{n} {q['q']!r}: {'; '.join(problems)}")
        elif len(hits) > 3:
            warnings += 1
            print(f"  WARN  #{n} {q['q']!r}: {len(hits)} sections contain all terms {q['terms']}")
        if verbose or (hits and len(hits) > 1 and not problems):
            tag = "      " if len(hits) <= 3 else ""
            print(f"  {tag}#{n} {q['q']!r} -> {len(hits)} own / {len(crumb_hits)} with breadcrumb:")
            for i in hits[:6]:
                mark = "*" if i == target else " "
                print(f"        {mark} {sections[i].label}")
    print(
        f"  matches: exactly 1: {counts[1]}, 2: {counts[2]}, 3: {counts[3]}, >3: {counts[4]}, none: {counts[0]}"
    )
    print(f"  kinds: {dict(kinds)}  splits: {dict(splits)}")
    print(f"  files asked about: {len(by_file)} of {files}")
    if kinds and kinds["typo"] > len(questions) * 0.1:
        print(f"  WARN  more than 10% typo questions ({kinds['typo']})")
        warnings += 1
    if len(questions) < 45:
        print(f"  ERROR fewer than 45 questions ({len(questions)})")
        errors += 1
    return errors, warnings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--dump", metavar="NAME")
    args = ap.parse_args()
    base = corpora_dir()
    if args.dump:
        for s in load_corpus(base / args.dump):
            print(f"\n######## {s.label}  [level {s.level}; under: {' › '.join(s.parents)}]")
            print(s.raw.strip())
        return 0
    with open(HERE / "corpora.toml", "rb") as f:
        names = [c["name"] for c in tomllib.load(f)["corpus"]]
    total_e = total_w = 0
    for name in names:
        qfile = HERE / "questions" / f"{name}.toml"
        root = base / name
        if not root.is_dir():
            print(f"ERROR {name}: {root} missing; run bash quality/fetch.sh")
            total_e += 1
            continue
        if not qfile.exists():
            print(f"ERROR {name}: no {qfile.relative_to(HERE.parent)}")
            total_e += 1
            continue
        e, w = check(name, root, qfile, args.verbose)
        total_e += e
        total_w += w
    print(f"\n{total_e} errors, {total_w} warnings")
    return 1 if total_e else 0


if __name__ == "__main__":
    sys.exit(main())
