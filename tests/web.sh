#!/usr/bin/env bash
# heapwatchd's own endpoint under hostile or careless clients: names in
# URLs that try to leave the store, malformed requests, oversized headers
# and bodies, many idle connections; then web's basic auth, bearer token
# and TLS, and their reload.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null && command -v perl >/dev/null || {
	echo "Bail out! openssl and perl are needed"
	exit 1
}

# Status code of a request, the body in $TMPD/body; 000 when none came.
code() {	# code URL [curl options]
	local url=$1
	shift
	curl -s --path-as-is --max-time 10 -o "$TMPD/body" -w '%{http_code}' \
	    "$@" "$url"
}

# Send raw bytes (printf %b escapes) and print the status line back.
raw() {	# raw BYTES
	printf '%b' "$1" | timeout 5 bash -c \
	    "exec 3<>/dev/tcp/127.0.0.1/$HWD_PORT && cat >&3 && cat <&3" \
	    2>/dev/null | head -n 1 | tr -d '\r'
}

# Whether a request gets STATUS, for wait_for.
status_is() {	# status_is STATUS URL [curl options]
	local want=$1
	shift
	[ "$(code "$@")" = "$want" ]
}

has_snapshot() {
	[ "$(target_field shapes snapshots)" -ge 1 ] 2>/dev/null
}

# A bcrypt hash of a password, from libcrypt as heapwatchd checks it.
bcrypt() {	# bcrypt PASSWORD
	perl -e 'print crypt($ARGV[0], q($2y$10$) . $ARGV[1])' "$1" \
	    "$(openssl rand -hex 16 | tr 0-9a-f A-P | cut -c1-21)u"
}

fixture_start shapes || exit 1
conf=$TMPD/heapwatchd.yaml
{
	config_head 20s 10s
	cat <<YAML
  - name: shapes
    url: $FIXTURE_URL/debug/pprof/heap
  - name: other
    url: http://127.0.0.1:1/debug/pprof/heap
YAML
} >"$conf"
daemon_start "$conf" || exit 1
wait_for 20 has_snapshot
ok $? "the fixture's first snapshot is stored"

# 1. Names and ids in URLs reach nothing outside the store: a secret next
# to the store, and a link inside it named like a snapshot.
printf 'TOPSECRET\n' >"$TMPD/secret.pb.gz"
ln -s ../../secret.pb.gz "$TMPD/store/shapes/1700000000000.pb.gz"
long=$(printf 'a%.0s' $(seq 1 5000))
for path in \
    /api/v1/targets/..%2f..%2fsecret.pb.gz/snapshots \
    /api/v1/targets/shapes/snapshots/..%2f..%2fsecret \
    /api/v1/targets/shapes/snapshots/%2e%2e%2f%2e%2e%2fsecret \
    /api/v1/targets/shapes/snapshots/1700000000000 \
    /api/v1/targets/shapes/snapshots/1%00 \
    /api/v1/targets/shapes%00/snapshots \
    /api/v1/targets/%2e%2e/snapshots \
    /api/v1/targets/../../secret.pb.gz \
    /api/v1/targets/shapes/../../../secret.pb.gz \
    "/api/v1/targets/shapes/diff?base=..%2f..%2fsecret&current=%2e%2e" \
    "/api/v1/targets/shapes/diff?base=1700000000000&current=1700000000000" \
    "/targets/shapes/diff?base=..%2fsecret&current=%00" \
    /targets/%2e%2e/diff /targets/..%2fsecret.pb.gz /%2e%2e/secret.pb.gz \
    "/api/v1/targets/$long/snapshots" "/targets/$long" \
    "/api/v1/targets/shapes/snapshots/$long"; do
	c=$(code "$HWD_URL$path")
	case $c in 4??) ! grep -q TOPSECRET "$TMPD/body" ;; *) false ;; esac
	ok $? "${path:0:72}: $c, nothing from outside the store"
done
id=$(curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq -r '.[0].id')
c=$(code "$HWD_URL/api/v1/targets/shapes/snapshots/$id")
[ "$c" = 200 ] && gzip -t "$TMPD/body"
ok $? "a real snapshot still answers ($id: $c, gzip)"

# 2. Malformed requests get 4xx (or 505) and the connection closed.
s=$(raw 'GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n')
[ "$s" = "HTTP/1.1 505 HTTP Version Not Supported" ]
ok $? "an unknown HTTP version: $s"
s=$(raw 'GET /metrics\r\n\r\n')
[[ $s == "HTTP/1.1 4"* ]]
ok $? "a request line without a version: $s"
s=$(raw 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n')
[[ $s == "HTTP/1.1 400"* ]]
ok $? "a negative Content-Length: $s"
s=$(raw 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n')
[[ $s == "HTTP/1.1 4"* ]]
ok $? "a Content-Length beyond 64 bits: $s"
s=$(raw 'GET /api/v1/targets/shapes\x00/../../../secret.pb.gz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
[[ $s == "HTTP/1.1 4"* ]]
ok $? "a raw NUL in the path: $s"
s=$(raw 'GET /../../secret.pb.gz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
[[ $s == "HTTP/1.1 404"* ]]
ok $? "a raw /../ path: $s"
raw '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n' >/dev/null
raw '\x00\x01\x02\x03\xff\xfe\r\n\r\n' >/dev/null
raw 'GET /metrics HTTP/1.1\r\nHost: x\r\n\x00\x01: \x02\r\n' >/dev/null
c=$(code "$HWD_URL/-/healthy")
[ "$c" = 200 ] && kill -0 "$HWD_PID"
ok $? "binary garbage and a TLS hello to the plain port: the daemon answers"

# 3. Oversized headers and bodies.
big=$(head -c 65536 /dev/zero | tr '\0' a)
c=$(code "$HWD_URL/metrics" -H "X-Big: $big")
[ "$c" = 431 ]
ok $? "a 64 KiB header: $c"
c=$(code "$HWD_URL/$big")
[[ $c == 4?? ]]
ok $? "a 64 KiB URL: $c"
c=$(head -c 100000 /dev/zero | code "$HWD_URL/-/reload" --data-binary @-)
[ "$c" = 413 ]
ok $? "a 100 KB body: $c"
c=$(head -c 100000 /dev/zero | code "$HWD_URL/-/reload" \
    -H 'Transfer-Encoding: chunked' --data-binary @-)
[[ $c != 2?? ]]
ok $? "a 100 KB chunked body is cut off (status $c)"
c=$(code "$HWD_URL/-/healthy")
[ "$c" = 200 ] && kill -0 "$HWD_PID"
ok $? "the daemon answers after them"
# What libmicrohttpd refused is logged in a line, without its HTML page,
# and ten more at once add no line: any client can send them.
for i in 1 2 3 4 5 6 7 8 9 10; do
	code "$HWD_URL/metrics" -H "X-Big: $big" >/dev/null
done
n=$(grep -ac 'http: a request refused with [45][0-9][0-9], its connection closed' \
    "$TMPD/heapwatchd.log")
! grep -q '<html>' "$TMPD/heapwatchd.log" && [ "$n" -ge 1 ] && [ "$n" -le 2 ]
ok $? "refused requests are logged once a minute, without the page ($n lines)"
grep -a 'http:' "$TMPD/heapwatchd.log" | head -5 | diag

# 4. Idle connections, as a slow client leaves them.
fds=()
for _ in $(seq 1 100); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$HWD_PORT" || break
	fds+=("$fd")
done
[ ${#fds[@]} -eq 100 ] && [ "$(code "$HWD_URL/-/healthy")" = 200 ]
ok $? "100 idle connections open, a request is answered"
for _ in $(seq 1 500); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$HWD_PORT" 2>/dev/null || break
	fds+=("$fd")
done
for fd in "${fds[@]}"; do exec {fd}>&-; done
wait_for 30 status_is 200 "$HWD_URL/-/healthy" --max-time 2
ok $? "600 connections (the limit is 512) opened and closed: answered again"
grep -q 'ERROR: AddressSanitizer\|runtime error' "$TMPD/heapwatchd.log"
[ $? -ne 0 ]
ok $? "no sanitizer report in the log"
kill "$HWD_PID"
wait "$HWD_PID" 2>/dev/null

# 5. Basic auth and a bearer token.
h1=$(bcrypt 'correct horse')
h2=$(bcrypt 'battery staple')
[[ $h1 == '$2y$10$'* ]] && [ ${#h1} -eq 60 ]
ok $? "perl's crypt makes a bcrypt hash ($h1)"
auth_config() {	# auth_config ALICE-HASH TOKEN-SETTING
	{
		echo "web:"
		echo "  basic_auth_users:"
		echo "    alice: '$1'"
		echo "    bob: '$h2'"
		echo "  $2"
		config_head 20s 10s
		echo "  - name: shapes"
		echo "    url: $FIXTURE_URL/debug/pprof/heap"
	} >"$conf"
}
auth_config "$h1" "bearer_token: tok-1"
"$HEAPWATCHD" -t -c "$conf" >/dev/null
ok $? "heapwatchd -t accepts web's users and token"
"$HEAPWATCHD" -R -v -c "$conf" >>"$TMPD/heapwatchd.log" 2>&1 &
HWD_PID=$!
cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
wait_for 10 status_is 200 "$HWD_URL/-/ready" -u 'alice:correct horse'
ok $? "heapwatchd starts with auth"
for p in /metrics /-/healthy /-/ready /api/v1/targets /; do
	c=$(code "$HWD_URL$p" -D "$TMPD/headers")
	[ "$c" = 401 ] && grep -qi '^WWW-Authenticate: Basic realm="heapwatchd"' \
	    "$TMPD/headers"
	ok $? "$p without credentials: $c, WWW-Authenticate: Basic"
done
c=$(code "$HWD_URL/-/reload" -X POST)
[ "$c" = 401 ]
ok $? "POST /-/reload without credentials: $c"
c=$(code "$HWD_URL/metrics" -u 'alice:wrong')
[ "$c" = 401 ]
ok $? "a wrong password: $c"
c=$(code "$HWD_URL/metrics" -u 'mallory:correct horse')
[ "$c" = 401 ]
ok $? "an unknown user: $c"
c=$(code "$HWD_URL/metrics" -u 'alice:battery staple')
[ "$c" = 401 ]
ok $? "another user's password: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Basic !!!!')
[ "$c" = 401 ]
ok $? "a Basic value that is not base64: $c"
# The longest value the check decodes, 511 bytes (682 characters and two
# of padding), then one longer: each refused, and the daemon goes on.
long_b64=$(printf 'A%.0s' $(seq 1 682))
c=$(code "$HWD_URL/metrics" -H "Authorization: Basic $long_b64==")
c2=$(code "$HWD_URL/metrics" -H "Authorization: Basic ${long_b64}AA==")
c3=$(code "$HWD_URL/-/healthy" -u 'alice:correct horse')
[ "$c" = 401 ] && [ "$c2" = 401 ] && [ "$c3" = 200 ]
ok $? "a Basic value of 511 bytes: $c; of 513: $c2; then alice's: $c3"
c=$(code "$HWD_URL/metrics" -u 'alice:correct horse')
[ "$c" = 200 ] && grep -q '^heapwatch_target_up' "$TMPD/body"
ok $? "alice's password: $c, the metrics"
c=$(code "$HWD_URL/api/v1/targets" -u 'bob:battery staple')
[ "$c" = 200 ]
ok $? "bob's password: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Bearer tok-1')
[ "$c" = 200 ]
ok $? "the bearer token: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Bearer tok-2')
[ "$c" = 401 ]
ok $? "a wrong bearer token: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Bearer tok-1x')
[ "$c" = 401 ]
ok $? "the token with more after it: $c"
# Remembered values come back fast; a cost-10 bcrypt takes tens of ms,
# and a wrong password, never remembered, costs one each time. Twenty of
# each on one connection, one after the other, so that the machine's
# load weighs on both alike.
twenty() {	# twenty USER:PASS: "CODES MS", the codes of 20 requests
	local start args=() codes
	for _ in $(seq 1 20); do
		args+=(-o /dev/null "$HWD_URL/-/healthy")
	done
	start=$(date +%s%N)
	codes=$(curl -s --max-time 120 -w '%{http_code}\n' -u "$1" \
	    "${args[@]}" | sort | uniq -c | awk '{print $1 "x" $2}')
	echo "$codes $((($(date +%s%N) - start) / 1000000))"
}
read -r kept_codes kept_ms < <(twenty 'alice:correct horse')
read -r wrong_codes wrong_ms < <(twenty 'alice:wrong horse')
echo "# 20 requests with remembered basic auth: $kept_ms ms ($kept_codes)," \
    "with a wrong password: $wrong_ms ms ($wrong_codes)"
[ "$kept_codes" = 20x200 ] && [ "$wrong_codes" = 20x401 ] &&
    [ $((kept_ms * 2)) -lt "$wrong_ms" ]
ok $? "20 requests with the same credentials take $kept_ms ms, under half of 20 refused ($wrong_ms ms)"

# A reload: alice's password and the token change, from a file now.
echo tok-2 >"$TMPD/token"
auth_config "$h2" "bearer_token_file: token"
c=$(code "$HWD_URL/-/reload" -X POST -H 'Authorization: Bearer tok-1')
[ "$c" = 200 ]
ok $? "POST /-/reload with the old token: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Bearer tok-1')
[ "$c" = 401 ]
ok $? "the old token no longer passes: $c"
c=$(code "$HWD_URL/metrics" -H 'Authorization: Bearer tok-2')
[ "$c" = 200 ]
ok $? "the new token from the file passes: $c"
c=$(code "$HWD_URL/metrics" -u 'alice:correct horse')
[ "$c" = 401 ]
ok $? "alice's old password, remembered before, no longer passes: $c"
c=$(code "$HWD_URL/metrics" -u 'alice:battery staple')
[ "$c" = 200 ]
ok $? "her new one does: $c"
# A bad hash: the reload is refused and the settings stay.
auth_config 'plain-text' "bearer_token_file: token"
c=$(code "$HWD_URL/-/reload" -X POST -H 'Authorization: Bearer tok-2')
[ "$c" = 500 ] && grep -q 'heapwatchd.yaml:3:12: user "alice": not a bcrypt hash' \
    "$TMPD/heapwatchd.log"
ok $? "a reload with a plain-text password is refused ($c), FILE:LINE:COL in the log"
c=$(code "$HWD_URL/metrics" -u 'alice:battery staple')
[ "$c" = 200 ]
ok $? "... and the old users stay: $c"
kill "$HWD_PID"
wait "$HWD_PID" 2>/dev/null

# 6. TLS: self-signed certificates for 127.0.0.1.
for n in 1 2; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=heapwatchd \
	    -addext subjectAltName=IP:127.0.0.1 -keyout "$TMPD/key$n.pem" \
	    -out "$TMPD/cert$n.pem" 2>/dev/null
done
tls_config() {	# tls_config CERT KEY [PORT]
	{
		echo "web:"
		echo "  tls:"
		echo "    cert_file: $1"
		echo "    key_file: $2"
		echo "  bearer_token: tok-3"
		config_head 20s 10s | sed "s/:$HWD_PORT\$/:${3:-$HWD_PORT}/"
		echo "  - name: shapes"
		echo "    url: $FIXTURE_URL/debug/pprof/heap"
	} >"$conf"
}
tls_config cert1.pem key2.pem
out=$("$HEAPWATCHD" -t -c "$conf" 2>&1)
[ $? -eq 1 ] && [[ $out == *"web.tls"*"key does not match"* ]]
ok $? "heapwatchd -t refuses a key of another certificate: $out"
tls_config cert1.pem missing.pem
out=$("$HEAPWATCHD" -t -c "$conf" 2>&1)
[ $? -eq 1 ] && [ "$out" = "$conf:4:15: key_file \"$TMPD/missing.pem\": No such file or directory" ]
ok $? "heapwatchd -t: a missing key file at its line and column"
tls_config cert1.pem key1.pem
"$HEAPWATCHD" -t -c "$conf" >/dev/null
ok $? "heapwatchd -t accepts the certificate and its key"
"$HEAPWATCHD" -R -v -c "$conf" >>"$TMPD/heapwatchd.log" 2>&1 &
HWD_PID=$!
cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
TLS_URL=https://127.0.0.1:$HWD_PORT
BEARER=(-H 'Authorization: Bearer tok-3')
wait_for 10 status_is 200 "$TLS_URL/-/ready" --cacert "$TMPD/cert1.pem" \
    "${BEARER[@]}"
ok $? "HTTPS with the certificate's CA: 200"
c=$(code "$TLS_URL/metrics" --cacert "$TMPD/cert1.pem")
[ "$c" = 401 ]
ok $? "HTTPS without the token: $c"
c=$(code "$HWD_URL/metrics" "${BEARER[@]}")
[ "$c" != 200 ]
ok $? "plain HTTP to the TLS port gets no answer (status $c)"
curl -s --max-time 10 -o /dev/null "${BEARER[@]}" "$TLS_URL/-/healthy"
[ $? -eq 60 ]
ok $? "HTTPS without the CA fails verification"
c=$(code "$TLS_URL/-/healthy" --cacert "$TMPD/cert1.pem" --tlsv1.2 \
    --tls-max 1.2 "${BEARER[@]}")
[ "$c" = 200 ]
ok $? "TLS 1.2 is served too: $c"

# A new certificate on SIGHUP, on the same port.
tls_config cert2.pem key2.pem
kill -HUP "$HWD_PID"
wait_for 10 status_is 200 "$TLS_URL/-/healthy" --cacert "$TMPD/cert2.pem" \
    "${BEARER[@]}"
ok $? "after SIGHUP, the new certificate is served"
c=$(code "$TLS_URL/-/healthy" --cacert "$TMPD/cert1.pem" "${BEARER[@]}")
[ "$c" = 000 ]
ok $? "... and no longer the old one (status $c)"

# POST /-/reload moves to another port: the reply comes back on the old.
port2=$((HWD_PORT + 1))
tls_config cert2.pem key2.pem "$port2"
c=$(code "$TLS_URL/-/reload" -X POST --cacert "$TMPD/cert2.pem" "${BEARER[@]}")
[ "$c" = 200 ]
ok $? "POST /-/reload that changes the port is answered: $c"
c=$(code "https://127.0.0.1:$port2/metrics" --cacert "$TMPD/cert2.pem" \
    "${BEARER[@]}")
[ "$c" = 200 ]
ok $? "the new port answers: $c"
wait_for 5 status_is 000 "$TLS_URL/-/healthy" --cacert "$TMPD/cert2.pem" \
    "${BEARER[@]}"
ok $? "the old port is closed"
grep -q "listening on 127.0.0.1:$port2 (https)" "$TMPD/heapwatchd.log"
ok $? "the log says where it listens now"

# And back to plain HTTP on reload.
{
	config_head 20s 10s
	echo "  - name: shapes"
	echo "    url: $FIXTURE_URL/debug/pprof/heap"
} >"$conf"
kill -HUP "$HWD_PID"
wait_for 10 status_is 200 "$HWD_URL/-/healthy"
ok $? "a reload without web: plain HTTP, open"
kill -0 "$HWD_PID"
ok $? "heapwatchd still runs"
kill "$HWD_PID"
wait "$HWD_PID"
ok $? "and stops cleanly on SIGTERM"

# 7. What a user of both sees: alerts that link to https://, and a real
# Prometheus scraping over TLS with basic auth.
fixture_start leak || exit 1
LEAK_URL=$FIXTURE_URL
sink_start "$TMPD/hooks.out" || exit 1
{
	echo "web:"
	echo "  tls: {cert_file: cert1.pem, key_file: key1.pem}"
	echo "  basic_auth_users:"
	echo "    prometheus: '$h1'"
	# Sixteen scrapes a window: its points must span 90% of it, which a
	# few late scrapes on a busy machine do not undo.
	config_head 8s 0s | sed 's/interval: 1s/interval: 500ms/;
	    s/timeout: 500ms/timeout: 400ms/'
	echo "  - name: leak"
	echo "    url: $LEAK_URL/debug/pprof/heap"
	echo "    min_growth: 256KiB"
	echo "alerting:"
	echo "  webhooks:"
	echo "    - url: $SINK_URL/hook"
} >"$conf"
"$HEAPWATCHD" -R -v -c "$conf" >>"$TMPD/heapwatchd.log" 2>&1 &
HWD_PID=$!
cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
PROM=(--cacert "$TMPD/cert1.pem" -u 'prometheus:correct horse')
wait_for 10 status_is 200 "$TLS_URL/-/ready" "${PROM[@]}"
ok $? "heapwatchd starts with TLS and basic auth"
fired() {
	grep -q '"status":"firing"' "$TMPD/hooks.out" 2>/dev/null
}
wait_for 60 fired
ok $? "the leak fires and the webhook is sent"
link=$(grep -m1 '"status":"firing"' "$TMPD/hooks.out" | jq -r .current_snapshot)
[[ $link == "$TLS_URL/api/v1/targets/leak/snapshots/"* ]]
ok $? "the alert links to https:// ($link)"
c=$(code "$link" "${PROM[@]}")
[ "$c" = 200 ] && gzip -t "$TMPD/body"
ok $? "the link answers with the snapshot: $c"

if command -v prometheus >/dev/null; then
	PROM_PORT=$((HWD_PORT + 2))
	printf 'correct horse' >"$TMPD/prom.pw"
	cat >"$TMPD/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: heapwatch
    scheme: https
    tls_config:
      ca_file: $TMPD/cert1.pem
    basic_auth:
      username: prometheus
      password_file: $TMPD/prom.pw
    static_configs:
      - targets: ['127.0.0.1:$HWD_PORT']
YAML
	prometheus_start
	# Prometheus's own up, and a series only heapwatchd's /metrics has
	# (its value follows the leak's last scrape, which may time out).
	scraped() {
		prom_query 'up{job="heapwatch"}' |
		    jq -e '.data.result[0].value[1] == "1"' >/dev/null &&
		    prom_query 'heapwatch_target_up{target="leak"}' |
		    jq -e '.data.result | length == 1' >/dev/null
	}
	# Prometheus itself takes a while to start on a busy machine.
	wait_for 120 scraped
	ok $? "Prometheus scrapes /metrics over HTTPS with basic auth"
	curl -fs "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
	    jq -r '.data.activeTargets[0].lastError' | diag
	scraped || tail -n 5 "$TMPD/prometheus.log" | diag
else
	ok 1 "prometheus is installed (Debian's prometheus)"
fi
kill "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops cleanly"
grep -q 'ERROR: AddressSanitizer\|runtime error\|LeakSanitizer' \
    "$TMPD/heapwatchd.log"
[ $? -ne 0 ]
ok $? "no sanitizer report in the log"

done_testing
