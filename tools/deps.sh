#!/bin/sh
# Installs the Debian packages kiln needs for what is asked, a no-op when
# all are present. Groups: run (build and run a stack; what `make run`
# needs), test (adds the test tools: `make test`), bench (adds wrk and
# the PyTorch and OpenBLAS peers). No argument means run and test, what
# CI needs.
set -eu

RUN="build-essential pkg-config curl ca-certificates python3 procps
libfcgi-dev libfcgi-bin libmariadb-dev mariadb-server mariadb-client
libcurl4-openssl-dev libjson-c-dev clearsilver-dev libgd-dev
ocl-icd-opencl-dev opencl-c-headers libclblast-dev pocl-opencl-icd clinfo
libsodium-dev libunistring-dev libzxcvbn-dev liboath-dev libqrencode-dev
libarchive-dev libssl-dev lighttpd
libpng-dev libtiff-dev libopenexr-dev"
# Apache runs in the tests beside lighttpd; the engine tests compute their
# references with PyTorch (OpenBLAS, or it runs ~25x slower); the pages
# are driven by headless Chromium (with a CJK font for the Chinese
# pages); the man pages are rendered by man -l;
# the Lanczos resampler is checked against Pillow's, as A1111 uses it;
# the canny preprocessor against OpenCV (python3-opencv); the mail tests
# send to a real SMTP server (python3-aiosmtpd); the high-precision
# exports are read back with tifffile and OpenEXR's own exrheader
# (openexr); docs/manifest.schema.json is checked against the manifest
# docs' examples (python3-jsonschema); the S3 storage tests run s3rver
# (npm, pinned in tools/s3rver/package-lock.json) on node.
TEST="clang libclang-rt-14-dev psmisc valgrind apache2 libapache2-mod-fcgid
chromium fonts-dejavu-core fonts-wqy-microhei man-db groff-base
python3-aiosmtpd python3-jsonschema nodejs
python3-torch python3-numpy python3-pil libopenblas0-pthread python3-opencv
openexr python3-tifffile"
BENCH="wrk python3-torch python3-numpy libopenblas0-pthread"

[ $# -gt 0 ] || set -- run test
PKGS=""
S3RVER=0
for g in "$@"; do
	case "$g" in
	run) PKGS="$PKGS $RUN" ;;
	test) PKGS="$PKGS $RUN $TEST"; S3RVER=1 ;;
	bench) PKGS="$PKGS $RUN $BENCH" ;;
	*) echo "deps: no group $g (run, test, bench)" >&2; exit 2 ;;
	esac
done

# The S3-compatible server of the storage tests, from the npm registry
# at the versions package-lock.json pins, into tools/s3rver/node_modules
# (not in git); a no-op once there.
s3rver() {
	dir=$(dirname "$0")/s3rver
	[ "$S3RVER" = 1 ] || return 0
	[ -x "$dir/node_modules/.bin/s3rver" ] && return 0
	echo "deps: installing s3rver (npm ci in $dir)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

# npm: Debian's own package, unless the node installed brings its own
# (NodeSource's nodejs does, and conflicts with Debian's npm).
if [ "$S3RVER" = 1 ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing npm"
fi

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	s3rver
	exit 0
fi

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi

# Keep the packages' own services (system MariaDB, Apache and lighttpd on
# port 80) from starting at install time: kiln runs its own instances, and
# two servers fighting for port 80 would fail the install in a container.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	made_policy=1
fi
cleanup() {
	if [ "$made_policy" = 1 ]; then
		$SUDO rm -f "$policy"
	fi
}
trap cleanup EXIT

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
s3rver
