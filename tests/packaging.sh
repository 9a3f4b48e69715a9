#!/usr/bin/env bash
# What a packager and an operator rely on: the systemd unit verifies clean
# and scores at most 1.5 in systemd-analyze security; make install places
# everything; --version says the version; heapwatchd refuses to run as
# root unless told, and drops to a user once listening.
. "$(dirname "$0")/lib.sh"

unit="$TMPD/heapwatchd.service"
# The built unit, pointed at this build so that verify finds the binary.
sed -e "s|^ExecStartPre=.*|ExecStartPre=$HEAPWATCHD -t -c $top_srcdir/etc/heapwatchd.yaml|" \
    -e "s|^ExecStart=.*|ExecStart=$HEAPWATCHD -c $top_srcdir/etc/heapwatchd.yaml|" \
    "$top_builddir/systemd/heapwatchd.service" >"$unit"
# The manual pages it names, where man finds them.
mkdir -p "$TMPD/man/man5" "$TMPD/man/man8"
cp "$top_srcdir/man/heapwatchd.8" "$TMPD/man/man8/"
cp "$top_srcdir/man/heapwatchd.yaml.5" "$TMPD/man/man5/"
MANPATH="$TMPD/man" systemd-analyze verify "$unit" >"$TMPD/verify" 2>&1
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$TMPD/verify" ]
ok $? "systemd-analyze verify is clean"
diag <"$TMPD/verify"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for heapwatchd.service: \([0-9.]*\).*/\1/p')
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 1.5) }'
ok $? "systemd-analyze security scores ${score:-nothing} (at most 1.5)"
grep -q '^Type=notify$' "$unit" && grep -q '^WatchdogSec=' "$unit" &&
    grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" &&
    grep -q '^StateDirectory=heapwatchd$' "$unit" && grep -q '^DynamicUser=yes$' "$unit"
ok $? "notify, watchdog, reload by SIGHUP, a state directory, its own user"

rm -rf "$TMPD/inst"
make -s -C "$top_builddir" install DESTDIR="$TMPD/inst" >"$TMPD/install" 2>&1
ok $? "make install"
for f in bin/heapwatch bin/heapwatchd etc/heapwatchd.yaml \
    share/man/man1/heapwatch.1 share/man/man8/heapwatchd.8 \
    share/man/man5/heapwatchd.yaml.5 \
    share/doc/heapwatch/examples/heapwatch.rules.yml; do
	[ -f "$(find "$TMPD/inst" -path "*/$f" | head -1)" ]
	ok $? "make install places $f"
done
[ -n "$(find "$TMPD/inst" -name heapwatchd.service)" ]
ok $? "make install places the unit in systemd's unit folder"

v=$(sed -n 's/^AC_INIT(\[heapwatch\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ "$("$HEAPWATCHD" --version)" = "heapwatchd $v" ] &&
    [ "$("$top_builddir/heapwatch" --version)" = "heapwatch $v" ]
ok $? "--version says $v, the version of configure.ac"

if [ "$(id -u)" -eq 0 ]; then
	"$HEAPWATCHD" -c "$top_srcdir/etc/heapwatchd.yaml" >"$TMPD/root" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -q "refusing to run as root" "$TMPD/root"
	ok $? "as root without -u or -R it refuses to run"
	chmod 755 "$TMPD"
	mkdir -p "$TMPD/nobody"
	chown nobody "$TMPD/nobody"
	cat >"$TMPD/nobody.yaml" <<YAML
listen: 127.0.0.1:$HWD_PORT
storage: {path: $TMPD/nobody/store}
YAML
	"$HEAPWATCHD" -u nobody -c "$TMPD/nobody.yaml" >"$TMPD/nobody.log" 2>&1 &
	pid=$!
	cleanup_hooks+=("kill $pid 2>/dev/null")
	ready() { curl -fs --max-time 2 "http://127.0.0.1:$HWD_PORT/-/ready" >/dev/null; }
	wait_for 10 ready
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
	[ "$uid" = "$(id -u nobody)" ] && [ -d "$TMPD/nobody/store" ]
	ok $? "with -u nobody it listens, then runs as nobody (uid $uid)"
	kill "$pid"
	wait "$pid"
	ok $? "... and stops cleanly"
else
	"$HEAPWATCHD" -c "$top_srcdir/etc/heapwatchd.yaml" -t >/dev/null 2>&1
	ok $? "not root: nothing to refuse"
fi
done_testing
