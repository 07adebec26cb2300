#!/usr/bin/env bash
# Baseline for the benchmark: a re-creation of the kind of hand-written blue/green script this
# action replaces (as described in shared/reference/blue-green-script-post.md), written anew and
# parameterised for a loopback test target. Run it as root on the host, e.g. over ssh.
#
# What it does, like the original:
#   1. finds the live port with lsof (BLUE_PORT, else GREEN_PORT; exits 1 when neither listens),
#   2. kill -9 whatever still listens on the other (new) port,
#   3. starts the jar there with nohup in the background,
#   4. sleeps a fixed START_WAIT seconds, then polls the health URL up to 10 times,
#      RETRY_WAIT seconds apart, for the string UP (gives up with exit 1),
#   5. rewrites the nginx include for the new port and reloads nginx,
#   6. kill -9 the process listening on the old port.
#
# Environment:
#   JAR          jar to start (required)
#   BLUE_PORT    default 8080
#   GREEN_PORT   default 8081
#   INCLUDE      nginx include holding `set $service_url ...;` (default /etc/nginx/conf.d/service-url.inc)
#   NGINX_CONF   nginx main config for `nginx -c` (default /etc/nginx/nginx.conf)
#   APP_DIR      working directory; the app log goes to $APP_DIR/app.log (default: the jar's directory)
#   START_WAIT   seconds to sleep after the start (default 15)
#   RETRY_WAIT   seconds between health checks (default 10)

PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

: "${JAR:?JAR must name the jar to deploy}"
BLUE_PORT="${BLUE_PORT:-8080}"
GREEN_PORT="${GREEN_PORT:-8081}"
INCLUDE="${INCLUDE:-/etc/nginx/conf.d/service-url.inc}"
NGINX_CONF="${NGINX_CONF:-/etc/nginx/nginx.conf}"
APP_DIR="${APP_DIR:-$(dirname -- "$JAR")}"
START_WAIT="${START_WAIT:-15}"
RETRY_WAIT="${RETRY_WAIT:-10}"
LOG="$APP_DIR/app.log"

port_pid() {
  lsof -Pi :"$1" -sTCP:LISTEN -t 2>/dev/null
}

echo "> which port is live?"
if port_pid "$BLUE_PORT" >/dev/null; then
  CURRENT_PORT=$BLUE_PORT
  NEW_PORT=$GREEN_PORT
elif port_pid "$GREEN_PORT" >/dev/null; then
  CURRENT_PORT=$GREEN_PORT
  NEW_PORT=$BLUE_PORT
else
  echo "> neither $BLUE_PORT nor $GREEN_PORT is listening: nothing to switch from"
  exit 1
fi
echo "> live: $CURRENT_PORT, deploying to: $NEW_PORT"

if port_pid "$NEW_PORT" >/dev/null; then
  echo "> something still listens on $NEW_PORT: killing it"
  # shellcheck disable=SC2046 # one word per pid
  kill -9 $(port_pid "$NEW_PORT")
  sleep 3
fi

cd -- "$APP_DIR" || exit 1
nohup java -jar "$JAR" --server.port="$NEW_PORT" >"$LOG" 2>&1 </dev/null &
echo "> started the jar on $NEW_PORT in the background (log: $LOG)"

sleep "$START_WAIT"

for attempt in 1 2 3 4 5 6 7 8 9 10; do
  response=$(curl -s "http://127.0.0.1:$NEW_PORT/actuator/health")
  if printf '%s' "$response" | grep -q 'UP'; then
    echo "> health check passed"
    break
  fi
  echo "> health check $attempt: not UP yet (${response:-no answer})"
  if [ "$attempt" -eq 10 ]; then
    echo "> health check failed: leaving nginx alone"
    exit 1
  fi
  sleep "$RETRY_WAIT"
done

echo "> switching nginx to $NEW_PORT"
echo "set \$service_url http://127.0.0.1:${NEW_PORT};" | tee "$INCLUDE"
nginx -c "$NGINX_CONF" -s reload

echo "> stopping the old app on $CURRENT_PORT"
# shellcheck disable=SC2046 # one word per pid
kill -9 $(port_pid "$CURRENT_PORT")
