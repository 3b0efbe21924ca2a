# shellcheck shell=bash
# nginx as a stand-in for pcsim in bench/run.sh (--server nginx): a server
# no one here wrote, answering GET /v1/customers/{id}/qualifications with
# a fixed JSON list, after a delay (the echo module's echo_sleep) and
# behind a limit_req throttle answering 429 with Retry-After, like pcsim's
# --latency-ms and --throttle-rps. Sourced by bench/lib.sh; expects $TMP
# and $TOKEN. Debian packages: nginx-light (or any nginx) and
# libnginx-mod-http-echo.
#
# Counters come from nginx's own access log ($msec $status $request_uri), turned
# into the same JSON shape as pcsim's /stats by nginx_stats: requests,
# by_status, throttled, and retry_after_violations (a tenant asked again
# sooner than Retry-After after its 429, from the log's timestamps).

NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
NGINX_ECHO_MODULE=${NGINX_ECHO_MODULE:-/usr/lib/nginx/modules/ngx_http_echo_module.so}
NGINX_PID=
NGINX_DIR=
NGINX_RETRY_AFTER=1
# One answer for every tenant: the list shape, as the SDK reads it.
NGINX_BODY='[{"qualification":"Education","vettingStatus":"Approved","vettingReason":"","vettingCreatedDate":"2020-12-03T10:37:38.885Z"}]'

nginx_check() {
	[[ -x $NGINX_BIN ]] ||
		{ echo "nginx is not installed (scripts/bootstrap)" >&2; return 1; }
	[[ -f $NGINX_ECHO_MODULE ]] || {
		echo "no nginx echo module at $NGINX_ECHO_MODULE" \
			"(libnginx-mod-http-echo)" >&2
		return 1
	}
}

# nginx_conf DIR PORT LATENCY_MS THROTTLE_RPS BURST AUTH(0|1): the config.
nginx_conf() {
	local dir=$1 port=$2 lat=$3 rps=$4 burst=$5 auth=$6 sleep_line=''
	local zone='' auth_line='' limit='' rate burst_arg=''

	if [[ $lat -gt 0 ]]; then
		sleep_line="echo_sleep $(awk -v m="$lat" \
			'BEGIN { printf "%.3f", m / 1000 }');"
	fi
	if [[ $rps != 0 ]]; then
		# pcsim's throttle: a bucket of BURST, refilled at rps per
		# second (nginx takes whole requests per second or minute)
		if [[ $rps == *.* ]]; then
			rate="$(awk -v r="$rps" 'BEGIN { printf "%d", r * 60 + 0.5 }')r/m"
		else
			rate="${rps}r/s"
		fi
		# burst=B nodelay lets about B + 1 through at once, near
		# enough; without burst nginx refuses any two requests closer
		# than 1/R, as a bucket holding one request does
		[[ $burst -gt 1 ]] && burst_arg="burst=$burst nodelay"
		zone="limit_req_zone \$binary_remote_addr zone=api:1m rate=$rate;"
		limit="limit_req zone=api $burst_arg;
			limit_req_status 429;
			error_page 429 = @throttled;"
	fi
	if [[ $auth -eq 1 ]]; then
		auth_line="if (\$http_authorization != \"Bearer $TOKEN\") {
				return 401;
			}"
	fi
	cat <<EOF
load_module $NGINX_ECHO_MODULE;
worker_processes 1;
daemon off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events {
	worker_connections 4096;
}
http {
	log_format bench '\$msec \$status \$request_uri';
	access_log $dir/access.log bench;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	$zone
	server {
		listen 127.0.0.1:$port;
		location ~ ^/v1/customers/[^/]+/qualifications\$ {
			$auth_line
			$limit
			default_type application/json;
			$sleep_line
			echo '$NGINX_BODY';
		}
		location @throttled {
			add_header Retry-After $NGINX_RETRY_AFTER always;
			default_type application/json;
			return 429 '{"code":429,"description":"Rate limit is exceeded"}';
		}
		location / {
			return 404;
		}
	}
}
EOF
}

# start_nginx [--latency-ms N] [--throttle-rps N [--throttle-burst B]]
# [--no-token]: a fresh
# nginx on a free loopback port; sets PCSIM_URL (the name the scenarios
# use for "the server").
start_nginx() {
	local lat=0 rps=0 burst=20 auth=1 port try i

	while [[ $# -gt 0 ]]; do
		case $1 in
		--latency-ms) lat=$2; shift ;;
		--throttle-rps) rps=$2; shift ;;
		--throttle-burst) burst=$2; shift ;;
		--no-token) auth=0 ;;
		*) die "start_nginx: unknown option $1" ;;
		esac
		shift
	done
	for ((try = 0; try < 20; try++)); do
		NGINX_DIR=$(mktemp -d "$TMP/nginx.XXXXXX")
		mkdir "$NGINX_DIR/tmp"
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		nginx_conf "$NGINX_DIR" "$port" "$lat" "$rps" "$burst" "$auth" \
			>"$NGINX_DIR/nginx.conf"
		"$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" \
			2>"$NGINX_DIR/stderr" &
		NGINX_PID=$!
		for ((i = 0; i < 250; i++)); do
			if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
				PCSIM_URL=http://127.0.0.1:$port
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.02
		done
		wait "$NGINX_PID" 2>/dev/null || true
		NGINX_PID=
		grep -q 'Address already in use' "$NGINX_DIR/error.log" \
			"$NGINX_DIR/stderr" 2>/dev/null ||
			die "nginx did not start: $(cat "$NGINX_DIR/stderr" \
				"$NGINX_DIR/error.log" 2>/dev/null)"
	done
	die "nginx: no free port after $try tries"
}

stop_nginx() {
	[[ -n $NGINX_PID ]] || return 0
	kill "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
}

# nginx_stats FILE: the access log so far as pcsim-style /stats JSON. The
# log line is written as each answer completes; wait until it stops
# growing so the last answers of a run are in.
nginx_stats() {
	local log=$NGINX_DIR/access.log a b

	b=$(wc -l <"$log")
	while :; do
		sleep 0.1
		a=$b
		b=$(wc -l <"$log")
		[[ $a -eq $b ]] && break
	done
	awk -v ra="$NGINX_RETRY_AFTER" '
		$3 ~ /^\/v1\/customers\// {
			n++
			st[$2]++
			if($3 in until && $1 < until[$3])
				viol++
			delete until[$3]
			if($2 == 429)
				until[$3] = $1 + ra
		}
		END {
			printf "{\"requests\":%d,\"by_status\":{", n
			sep = ""
			for(s in st) {
				printf "%s\"%s\":%d", sep, s, st[s]
				sep = ","
			}
			printf "},\"throttled\":%d,", st["429"] + 0
			printf "\"retry_after_violations\":%d}\n", viol + 0
		}' "$log" >"$1"
}
