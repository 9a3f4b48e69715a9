# Debian packages heapwatch needs, installed when missing.
# Sourced by check.sh and demo.sh; "deps_install LIST" installs what is absent.
# shellcheck shell=bash

# To build heapwatch and heapwatchd.
DEPS_BUILD="build-essential autoconf automake pkg-config protobuf-c-compiler
libprotobuf-c-dev zlib1g-dev libdeflate-dev libjansson-dev libyaml-dev
libevent-dev libcurl4-openssl-dev libmicrohttpd-dev libsystemd-dev
libcrypt-dev libzstd-dev libsqlite3-dev libxxhash-dev"
# To run the test suite: Go builds the fixture services, clang the fuzzers,
# systemd-journal-remote writes the journal files that follow.c reads.
DEPS_TEST="golang-go clang procps curl jq openssl prometheus
prometheus-alertmanager chromium groff-base man-db systemd
systemd-journal-remote valgrind wrk sqlite3 iproute2"

deps_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq &&
	    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}" >/dev/null
}
