#!/bin/sh
# make install / make uninstall (spec sections 2 and 10).
#
#   scripts/install.sh install|uninstall
#   environment: DESTDIR, PREFIX (default /usr/local), BIN (the built binary),
#                UNITDIR (default PREFIX/lib/systemd/system), MANDIR (default
#                PREFIX/share/man)
#
# The unit goes to PREFIX/lib/systemd/system: systemd reads both
# /usr/local/lib/systemd/system and /usr/lib/systemd/system (see
# "systemd-analyze unit-paths"), and /etc/systemd/system stays the
# operator's.  The configuration directory is /etc/intofocus whatever the
# PREFIX, because the unit names it.
#
# Operator files are never overwritten: /etc/intofocus/example.yaml and
# /etc/intofocus/credentials are created only when absent, and uninstall
# removes them only while they are still byte-identical to what install
# wrote (example.yaml.dist and the credentials template).  State under
# /var/lib/intofocus is never touched.
set -eu

action=${1:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BIN=${BIN:-build/intofocus}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
MANDIR=${MANDIR:-$PREFIX/share/man}
DATADIR=$PREFIX/share/intofocus
CONFDIR=/etc/intofocus
SRC=$(cd "$(dirname "$0")/.." && pwd)

D=$DESTDIR

say() {
	echo "$*"
	"$@"
}

# install_text SRC DEST MODE SED-SCRIPT: SRC with paths rewritten for PREFIX.
install_text() {
	tmp=$(mktemp "${TMPDIR:-/tmp}/intofocus-install.XXXXXX")
	sed "$4" "$1" >"$tmp"
	echo "install -m $3 $1 $2  (paths for PREFIX=$PREFIX)"
	if ! install -m "$3" "$tmp" "$2"; then
		rm -f "$tmp"
		return 1
	fi
	rm -f "$tmp"
}

unit_sed="s|/usr/local/bin/intofocus|$PREFIX/bin/intofocus|g"
example_sed="s|/usr/local/share/intofocus|$DATADIR|g"

do_install() {
	if [ ! -x "$BIN" ]; then
		echo "install: $BIN is missing; run make first" >&2
		exit 1
	fi
	say install -d -m 0755 "$D$PREFIX/bin" "$D$UNITDIR" \
		"$D$MANDIR/man1" "$D$MANDIR/man5" "$D$DATADIR/example" \
		"$D$CONFDIR"
	say install -m 0755 "$BIN" "$D$PREFIX/bin/intofocus"
	install_text "$SRC/systemd/intofocus@.service" \
		"$D$UNITDIR/intofocus@.service" 0644 "$unit_sed"
	install_text "$SRC/systemd/intofocus-serve@.service" \
		"$D$UNITDIR/intofocus-serve@.service" 0644 "$unit_sed"
	say install -m 0644 "$SRC/man/intofocus.1" "$D$MANDIR/man1/intofocus.1"
	say install -m 0644 "$SRC/man/intofocus.yaml.5" \
		"$D$MANDIR/man5/intofocus.yaml.5"
	# The example's photo is the demo's (public domain), with its licence.
	say install -m 0644 "$SRC/examples/images/astronaut.jpg" \
		"$SRC/examples/images/LICENSES.md" "$D$DATADIR/example/"
	install_text "$SRC/systemd/example.yaml" \
		"$D$CONFDIR/example.yaml.dist" 0644 "$example_sed"
	if [ -e "$D$CONFDIR/example.yaml" ]; then
		echo "keeping $D$CONFDIR/example.yaml (the new one is example.yaml.dist)"
	else
		say install -m 0644 "$D$CONFDIR/example.yaml.dist" \
			"$D$CONFDIR/example.yaml"
	fi
	if [ -e "$D$CONFDIR/credentials" ]; then
		echo "keeping $D$CONFDIR/credentials"
	else
		say install -m 0600 "$SRC/systemd/credentials.example" \
			"$D$CONFDIR/credentials"
	fi
	if [ -z "$D" ] && [ -d /run/systemd/system ]; then
		say systemctl daemon-reload
	fi
}

# remove_if_pristine FILE ORIGINAL: remove FILE unless the operator changed it.
remove_if_pristine() {
	[ -e "$1" ] || return 0
	if cmp -s "$1" "$2"; then
		say rm -f "$1"
	else
		echo "keeping $1: it was changed after install"
	fi
}

do_uninstall() {
	say rm -f "$D$PREFIX/bin/intofocus" "$D$UNITDIR/intofocus@.service" \
		"$D$UNITDIR/intofocus-serve@.service" \
		"$D$MANDIR/man1/intofocus.1" "$D$MANDIR/man5/intofocus.yaml.5" \
		"$D$DATADIR/example/astronaut.jpg" "$D$DATADIR/example/LICENSES.md"
	rmdir "$D$DATADIR/example" "$D$DATADIR" 2>/dev/null || true
	if [ -e "$D$CONFDIR/example.yaml.dist" ]; then
		remove_if_pristine "$D$CONFDIR/example.yaml" \
			"$D$CONFDIR/example.yaml.dist"
	fi
	remove_if_pristine "$D$CONFDIR/credentials" \
		"$SRC/systemd/credentials.example"
	say rm -f "$D$CONFDIR/example.yaml.dist"
	rmdir "$D$CONFDIR" 2>/dev/null ||
		echo "keeping $D$CONFDIR: it holds the operator's files"
	echo "state under /var/lib/intofocus is kept; remove it by hand"
	if [ -z "$D" ] && [ -d /run/systemd/system ]; then
		say systemctl daemon-reload
	fi
}

case "$action" in
install) do_install ;;
uninstall) do_uninstall ;;
*)
	echo "usage: $0 install|uninstall" >&2
	exit 2
	;;
esac
