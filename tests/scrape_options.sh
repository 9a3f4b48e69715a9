#!/usr/bin/env bash
# The scrape options of a target against a real HTTPS service: a CA file,
# a bearer token (from a file, read at every scrape), basic auth, extra
# headers, skipping verification; and the limits: redirects and the
# response size cap.
. "$(dirname "$0")/lib.sh"

cd "$TMPD" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
    >openssl.log 2>&1
ok $? "a self-signed certificate for 127.0.0.1"
fixture_start shapes -tls-cert cert.pem -tls-key key.pem \
    -auth-token s3cret -auth-basic alice:wonderland ||
    { ok 1 "fixture starts"; done_testing; exit; }
S=${FIXTURE_URL/http:/https:}
echo s3cret >token

# A scrape of this fixture over TLS takes a few hundred milliseconds on a
# busy machine, eight of them at once: a timeout of seconds keeps a slow
# scrape from passing for a refused one.
{ config_head | sed 's/interval: 1s/interval: 5s/; s/timeout: 500ms/timeout: 4s/'
  cat <<YAML; } >hw.yaml
  - name: token-file
    url: $S/debug/pprof/heap
    tls: {ca_file: $TMPD/cert.pem}
    bearer_token_file: $TMPD/token
  - name: basic
    url: $S/debug/pprof/heap
    tls: {ca_file: $TMPD/cert.pem}
    basic_auth: {username: alice, password: wonderland}
  - name: header
    url: $S/debug/pprof/heap
    tls: {ca_file: $TMPD/cert.pem}
    headers: {Authorization: Bearer s3cret}
  - name: insecure
    url: $S/debug/pprof/heap
    tls: {insecure_skip_verify: true}
    bearer_token: s3cret
  - name: wrong-token
    url: $S/debug/pprof/heap
    tls: {ca_file: $TMPD/cert.pem}
    bearer_token: nope
  - name: unknown-ca
    url: $S/debug/pprof/heap
    bearer_token: s3cret
  - name: redirects
    url: $S/bad/redirect
    tls: {ca_file: $TMPD/cert.pem}
    bearer_token: s3cret
    max_redirects: 3
  - name: too-big
    url: $S/debug/pprof/heap
    tls: {ca_file: $TMPD/cert.pem}
    bearer_token: s3cret
    max_size: 1KiB
YAML
daemon_start hw.yaml || { ok 1 "heapwatchd starts"; done_testing; exit; }

is_up() { [ "$(target_field "$1" health)" = up ]; }
# Down for the reason given, not for a scrape that was merely slow.
down_with() {	# down_with NAME REGEX
	[ "$(target_field "$1" health)" = down ] &&
	    target_field "$1" last_error | grep -qi "$2"
}
wait_for 60 is_up token-file
ok $? "a bearer token read from a file, over TLS with a CA file"
wait_for 60 is_up basic
ok $? "basic auth"
wait_for 60 is_up header
ok $? "an extra header"
wait_for 60 is_up insecure
ok $? "insecure_skip_verify with a certificate no CA vouches for"
wait_for 60 down_with wrong-token "HTTP status 401"
ok $? "a wrong token: down, $(target_field wrong-token last_error)"
wait_for 60 down_with unknown-ca "certificate"
ok $? "an unknown CA: down, $(target_field unknown-ca last_error)"
wait_for 60 down_with redirects "redirect"
ok $? "a redirect loop: down, $(target_field redirects last_error)"
wait_for 60 down_with too-big "larger than 1 KiB"
ok $? "a body over the cap: down, $(target_field too-big last_error)"

# The token file is read at each scrape: a rotation needs no reload.
echo wrong >token
wait_for 60 down_with token-file "HTTP status 401"
ok $? "a rotated, wrong token takes effect without a reload"
echo s3cret >token
wait_for 60 is_up token-file
ok $? "and the right one again"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
