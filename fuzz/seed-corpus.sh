#!/usr/bin/env bash
# Writes the seed corpus of the `pipeline` fuzz target into DIR (default
# fuzz/corpus/pipeline): every spec of the repository's specs/ and
# tests/fixtures/, and of the folders given after DIR (e.g. /work/shared/specs),
# up to 256 KiB each, each prefixed with the target's two option bytes: the
# name it is read under (0 .json, 1 .yaml, 2 no extension, 3 standard input)
# and the convert flags (0: the CLI's defaults). Generated at run time: the
# specs themselves are not copied into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$here/corpus/pipeline}"
shift || true
mkdir -p "$out"
count=0
while IFS= read -r -d '' file; do
    case "$file" in
        *.json) name='\x00' ;;
        *.yaml | *.yml) name='\x01' ;;
        *) continue ;;
    esac
    [ "$(stat -c %s "$file")" -le 262144 ] || continue
    sum="$(sha1sum "$file" | cut -c1-16)"
    { printf "$name\\x00"; cat "$file"; } > "$out/seed-$sum"
    # The same spec read from standard input, with every convert flag set.
    { printf '\x03\x0f'; cat "$file"; } > "$out/seed-$sum-stdin"
    count=$((count + 1))
done < <(find "$repo/specs" "$repo/tests/fixtures" "$@" -type f \( -name '*.json' -o -name '*.yaml' -o -name '*.yml' \) -print0)
echo "seed-corpus: $count specs into $out" >&2
