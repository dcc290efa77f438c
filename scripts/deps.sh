#!/bin/sh
# Installs the Debian packages IntoFocus needs for a purpose, when missing.
#   scripts/deps.sh build|test|demo|bench|fuzz|valgrind
# As root it runs apt-get itself; otherwise it prints the exact apt-get line
# and stops with exit 1, so that nothing half-builds.
set -eu

purpose=${1:-build}

# The face detector: OpenCV's objdetect (libopencv-dev carries the
# opencv4.pc pkg-config file) and the Haar cascades of opencv-data.
build_pkgs="build-essential pkg-config libcurl4-openssl-dev libssl-dev
libxml2-dev libturbojpeg0-dev libjpeg62-turbo-dev libyaml-dev libjansson-dev
libsqlite3-dev libmicrohttpd-dev libpng-dev libsystemd-dev libopencv-dev
opencv-data"
# Tests: cmocka for unit suites; Python with Pillow and boto3 as independent
# oracles (median fixtures, simulator conformance); sqlite3 and systemd for
# inspecting state and checking the unit file; strace and groff for tracing
# the binary against the unit's sandbox and checking the man pages;
# chromium for the browser suite (t0710, with npm's playwright-core and
# axe-core, pinned in tests/browser/package.json and installed there by
# t0710 with npm ci) and
# numpy for the report's metrics oracle (t0700); nginx, caddy and openssl
# for the task server behind a TLS reverse proxy (t0435, t0436: the tests
# make their own certificate and run nginx or caddy in their scratch
# directory) and for the certificate of t0725's stand-in for Prolific's
# completion page; curl for the suites that drive a fake service's control
# surface (t0611, t0645); iproute2 for ss (t0436) and for ip in t0437's
# network namespace.
test_pkgs="libcmocka-dev python3 python3-pil python3-boto3 sqlite3 systemd strace groff-base nodejs node-jsdom chromium python3-numpy nginx caddy openssl curl iproute2"
# Packages whose service the tests never use: installing them must not start
# it (nginx or Caddy on ports 80 and 443), now or at the next boot.
quiet_services="nginx caddy"
bench_pkgs="python3-opencv python3-numpy"
# make fuzz: clang and its libFuzzer runtime; make valgrind: valgrind.
fuzz_pkgs="clang libclang-rt-14-dev"
valgrind_pkgs="valgrind"

case "$purpose" in
build|demo) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
fuzz) want="$build_pkgs $fuzz_pkgs" ;;
valgrind) want="$build_pkgs $test_pkgs $valgrind_pkgs" ;;
*) echo "usage: $0 build|test|demo|bench|fuzz|valgrind" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "IntoFocus needs these Debian packages:$missing" >&2
	echo "Install them as root, then run make again:" >&2
	echo "  sudo apt-get update && sudo $line" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# While installing, a policy-rc.d that lets no service start (Debian's
# rule, honoured by invoke-rc.d and deb-systemd-invoke), unless the machine
# has one of its own; then the new services are disabled.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
fi
# An old package list may not know the packages: update once, then install.
apt-get update -qq >&2 || true
apt-get install -y -qq --no-install-recommends $missing >&2
for p in $missing; do
	case " $quiet_services " in *" $p "*) ;; *) continue ;; esac
	if systemctl disable --quiet "$p.service" 2>/dev/null; then
		echo "deps: $p is installed for the tests; its service stays" \
			"off (systemctl enable --now $p to use it)" >&2
	fi
done
