#!/usr/bin/env bash
# Debian's Chromium for the headless-browser tests (tests/report/test_browser.py).
# Only the distribution package: no browser is downloaded from anywhere else
# (never `playwright install`). A no-op when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "install-browser: /usr/bin/chromium is missing and this user cannot run apt-get;" >&2
  echo "  install it with: apt-get update && apt-get install -y chromium" >&2
  echo "  (the browser tests skip without it, and fail under CI=true)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
/usr/bin/chromium --version
