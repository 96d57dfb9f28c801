#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/browser, Playwright).
# Idempotent and quiet: does nothing when it is there. Never fails the caller: without root (or without
# apt-get) it says why, and the browser tests then skip with the same reason.
set -uo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "scripts/browser.sh: $CHROMIUM is missing and there is no apt-get; the browser tests will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/browser.sh: $CHROMIUM is missing and installing it needs root (sudo apt-get install chromium);" \
        "the browser tests will be skipped" >&2
    exit 0
fi
echo "scripts/browser.sh: installing chromium with apt-get for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/tmp/browser-install.log 2>&1; then
    echo "scripts/browser.sh: apt-get could not install chromium (see /tmp/browser-install.log);" \
        "the browser tests will be skipped" >&2
fi
exit 0
