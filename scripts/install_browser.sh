#!/usr/bin/env bash
# The browser of the end-to-end UI test (kraken_pipeline_tests/e2e): Debian's chromium and its
# matching chromedriver, from the distribution's packages. The test hands Selenium both paths,
# so nothing downloads a browser or a driver at test time. Safe to run again: it installs only
# what is missing. Needs root (CI runs as root) or sudo.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "install_browser: $(/usr/bin/chromedriver --version) already installed"
    exit 0
fi

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq chromium chromium-driver
echo "install_browser: $(/usr/bin/chromedriver --version) installed"
