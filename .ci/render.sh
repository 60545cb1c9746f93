#!/usr/bin/env bash
# Renders the golden job summaries the way GitHub shows them (GFM, GitHub's
# Markdown CSS, Mermaid drawn in Chromium) to PNG in light and dark, and
# fails on a Mermaid error or a first screen without the verdict and its
# cause (internal/report/testdata/first-screen.txt).
#
# usage: .ci/render.sh [OUT-DIR]
#   RENDER_UPDATE=1 also copies the PNGs to internal/report/testdata/render/,
#   the copies the README shows.
#   CHROMIUM=/path/to/chrome picks the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=internal/report/render
out=${1:-${TMPDIR:-/tmp}/deploy-load-check-render}

as_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  # Other jobs on the machine may hold apt's locks for a while.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v node >/dev/null 2>&1; then
  echo "render: node (20 or later) is needed" >&2; exit 1
fi

if [ -z "${CHROMIUM:-}" ]; then
  for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
    if CHROMIUM=$(command -v "$candidate"); then break; fi
    CHROMIUM=
  done
fi
if [ -z "$CHROMIUM" ] && as_root; then
  echo "--- installing chromium"
  apt_install chromium
  CHROMIUM=/usr/bin/chromium
fi
if [ -z "$CHROMIUM" ]; then
  echo "render: no Chromium found; install Debian's chromium or set CHROMIUM" >&2; exit 1
fi
export CHROMIUM

# The verdict's ✅ and ❌ are emoji: without an emoji font they are boxes.
if as_root && command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then
  echo "--- installing fonts-noto-color-emoji"
  apt_install fonts-noto-color-emoji
fi

# node_modules from the lockfile, kept outside the repository under a name
# of the lockfile's hash, so a warm run installs nothing.
lock_hash=$(cat "$harness/package.json" "$harness/package-lock.json" | sha256sum | cut -c1-16)
modules_home="${XDG_CACHE_HOME:-$HOME/.cache}/deploy-load-check/render-$lock_hash"
if [ ! -e "$modules_home/.installed" ]; then
  echo "--- npm ci (render harness)"
  rm -rf "$modules_home"
  mkdir -p "$modules_home"
  cp "$harness/package.json" "$harness/package-lock.json" "$modules_home/"
  (cd "$modules_home" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$modules_home/.installed"
fi

shopt -s nullglob
render() { RENDER_NODE_MODULES="$modules_home/node_modules" node "$harness/render.mjs" "$@"; }

# The check must be able to fail: a summary with a Mermaid block that does
# not parse and a cause hidden in a collapsed block must be rejected.
echo "--- render: a broken summary must fail"
broken_out=$(mktemp -d)
trap 'rm -rf "$broken_out"' EXIT
if render --manifest "$harness/testdata/broken-first-screen.txt" --out "$broken_out" \
  "$harness/testdata/broken.md" >"$broken_out/log" 2>&1; then
  cat "$broken_out/log"; echo "render: the broken summary passed the check" >&2; exit 1
fi
for want in "Parse error" 'not visible in the top 900 px: "The cause: 151 requests refused."' 'not visible in the top 900 px: "a string the summary does not have"' 'the open part is'; do
  if ! grep -qF "$want" "$broken_out/log"; then
    cat "$broken_out/log"; echo "render: the broken summary failed, but not with: $want" >&2; exit 1
  fi
done

goldens=(testdata/*.golden.md internal/report/testdata/*.golden.md)
copy=()
if [ "${RENDER_UPDATE:-}" = 1 ]; then
  rm -f internal/report/testdata/render/*.png
  copy=(--copy internal/report/testdata/render)
fi
mkdir -p "$out"
rm -f "$out"/*-light.png "$out"/*-dark.png
echo "--- render: ${#goldens[@]} summaries, light and dark, into $out"
render --manifest internal/report/testdata/first-screen.txt --out "$out" "${copy[@]}" "${goldens[@]}"
echo "render: PNGs in $out"
