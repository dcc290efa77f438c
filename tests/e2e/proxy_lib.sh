# Shared by the suites that put intofocus serve behind a TLS reverse proxy
# (t0435 nginx, t0436 Caddy), after tests/e2e/lib.sh:
#   serve_start LOG ARGS...   starts the server; SRV_PID and SPORT
#   serve_stop                stops it; SRV_RC
#   proxy_tls                 a CA, a certificate it signs for 127.0.0.1
#                             (tls/ca.pem, tls/server.pem, tls/server.key)
#                             and another CA (tls/other-ca.pem)
#   proxy_run NAME API_PORT PUBLIC REFUSED
#                             the daemon through the proxy's API port over
#                             https (mturk.ca_file checked both ways) and
#                             five participants through PUBLIC; REFUSED is
#                             the status the proxy gives the API and the
#                             image store on the public port; RUN_PID
# The caller's cleanup kills $SRV_PID and $RUN_PID.

serve_start() {
	log=$1
	shift
	"$INTOFOCUS" serve --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	SRV_PID=$!
	wait_port SPORT "$SRV_PID" "$log"
}

serve_stop() {
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID"
	SRV_RC=$?
	SRV_PID=""
}

proxy_tls() {
	mkdir tls
	(
		cd tls &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=Test CA" -keyout ca.key -out ca.pem &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=Other CA" -keyout other.key \
			-out other-ca.pem &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
			-keyout server.key -out server.csr &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' \
			>ext.cnf &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 2 -extfile ext.cnf \
			-out server.pem
	) >tls.log 2>&1
	check "openssl makes a CA and a certificate for 127.0.0.1" \
		test -s tls/server.pem
}

# proxy_experiment NAME API_PORT CA_FILE
proxy_experiment() {
	cat <<YAML
name: $1
mturk:
  environment: simulator
  endpoint: https://127.0.0.1:$2
  poll_interval: 1s
  ca_file: $3
hit:
  reward: "0.15"
  workers: 2
  lifetime: 1h
  exclusive_stages: true
stages: [21, 9]
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60]]
YAML
}

proxy_run() {
	name=$1
	api_port=$2
	public=$3
	refused=$4
	cp "$TOP/tests/fixtures/daemon/group.jpg" .
	proxy_experiment wrongca "$api_port" tls/other-ca.pem >wrongca.yaml
	proxy_experiment "$name" "$api_port" tls/ca.pem >"$name.yaml"
	proxy_experiment missing "$api_port" tls/no-such.pem >missing.yaml

	expect_exit 2 "check refuses an unreadable mturk.ca_file" \
		"$INTOFOCUS" check missing.yaml
	expect_stderr "... naming it" "mturk.ca_file"
	expect_exit 0 \
		"intofocus mturk reaches the API through $name with --ca-file" \
		"$INTOFOCUS" mturk GetAccountBalance \
		--endpoint "https://127.0.0.1:$api_port" --ca-file tls/ca.pem
	expect_exit 1 "... and refuses $name's certificate without it" \
		"$INTOFOCUS" mturk GetAccountBalance \
		--endpoint "https://127.0.0.1:$api_port" --attempts 1
	expect_exit 1 \
		"the daemon refuses a certificate its CA file did not sign" \
		timeout 120 "$INTOFOCUS" run wrongca.yaml --state-dir st-wrong
	expect_stderr "... saying so: the certificate and mturk.ca_file" \
		"mturk.ca_file"
	sed 's/^/# wrong CA: /' "$SCRATCH/.stderr" | grep -i "certif" |
		head -3

	# The real run: the daemon and the participants through the proxy.
	"$INTOFOCUS" run "$name.yaml" --state-dir st >run.log 2>&1 &
	RUN_PID=$!
	for p in P1 P2 P3 P4 P5; do
		"$INTOFOCUS" serve link --state-dir srv --public-url "$public" \
			--participant "$p" >"link-$p"
	done
	check "participants do every task through $name over https (Secure cookie, Origin checked, API not exposed)" \
		"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" participants \
		"$public" "$SCRATCH" "$RUN_PID" "$refused"
	sed 's/^/# /' "$SCRATCH/.out" | head -20
	i=0
	while kill -0 "$RUN_PID" 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$RUN_PID"
	rc=$?
	RUN_PID=""
	check "the daemon finished both stages through $name with exit 0" \
		test "$rc" -eq 0
	[ "$rc" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
	check "... with the participants' answers in its results" sh -c \
		"grep -q '\"P[1-5]\"' out/group.json"
}
