#!/bin/sh
# Installs the Debian packages kiln needs; a no-op when all are present.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev curl ca-certificates
python3 procps psmisc
libfcgi-dev libfcgi-bin libmariadb-dev mariadb-server mariadb-client
libcurl4-openssl-dev libjson-c-dev clearsilver-dev libgd-dev
ocl-icd-opencl-dev opencl-c-headers libclblast-dev pocl-opencl-icd clinfo
libsodium-dev libunistring-dev libzxcvbn-dev lighttpd apache2
libapache2-mod-fcgid valgrind
chromium fonts-dejavu-core wrk man-db groff-base
python3-torch python3-numpy libopenblas0-pthread"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
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
