#!/usr/bin/env bash
# The dev stack's readiness probes (process-compose.yaml), run from the checkout's root as
# `scripts/ready.sh [--once] CHECK ARGS...`:
#
#   postgres PORT     pg_isready answers
#   redis PORT        AUTH ($REDIS_PASSWORD) and PING answer +PONG, over bash's /dev/tcp (the
#                     lock's Valkey ships no redis-cli)
#   http PORT PATH    GET PATH answers 200, over /dev/tcp
#   pid FILE [GLOB]   the process whose pid FILE holds is alive (and a file matches GLOB); while
#                     FILE.dead exists, a process that died is being started again (its reloader
#                     says so): not ready at once, without waiting
#
# Each probe waits: it tries its check every 50 ms for up to 1.5 s, and passes as soon as the check
# does. process-compose probes at most once a second, so a process that got ready just after a
# probe used to wait for the next one; cold starts chain those waits (the stores, then migrate,
# then the api and the worker). 1.5 s stays inside every probe's 2 s timeout. No Python: these run
# every second.
#
# `--once` checks once, without waiting; `--wait SECONDS` sets another wait (the tests). The worker
# and beat wait too: their reloader brings a killed process back in about a second, and a waiting
# probe would hide that it was ever not ready, but FILE.dead (above) ends the wait.
set -u

wait_seconds_us=1500000
case ${1:-} in
--once)
    wait_seconds_us=0
    shift
    ;;
--wait)
    [[ ${2:-} =~ ^[0-9]+(\.[0-9]{1,6})?$ ]] || {
        echo "ready.sh: --wait needs seconds, such as 0.5 (got '${2:-}')" >&2
        exit 2
    }
    whole=${2%.*} fraction=
    [[ $2 == *.* ]] && fraction=${2#*.}
    fraction=${fraction}000000
    wait_seconds_us=$((10#$whole * 1000000 + 10#${fraction:0:6}))
    shift 2
    ;;
esac

check() {
    case $1 in
    postgres) pg_isready --quiet --host=127.0.0.1 --port="$2" ;;
    redis)
        exec 3<>"/dev/tcp/127.0.0.1/$2" &&
            printf 'AUTH "%s"\r\nPING\r\n' "${REDIS_PASSWORD:-}" >&3 &&
            read -r -t 1 _ <&3 && read -r -t 1 reply <&3 && [[ $reply == +PONG* ]]
        ;;
    http)
        exec 3<>"/dev/tcp/127.0.0.1/$2" &&
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$3" >&3 &&
            read -r -t 1 status <&3 && [[ $status == HTTP/1.?" 200 "* ]]
        ;;
    pid)
        kill -0 "$(cat "$2")" && { [[ $# -lt 3 ]] || compgen -G "$3" >/dev/null; }
        ;;
    esac
}

case ${1:-} in
postgres | redis | http | pid) ;;
*)
    echo "ready.sh: no check named '${1:-}' (postgres, redis, http, pid)" >&2
    exit 2
    ;;
esac

# A probe that waits must not outlive the stack: once process-compose, which started it, is gone
# (the stack stopped while the probe waited), it stops waiting. Watched only if it can be (a
# parent of another user's answers kill -0 with "not permitted").
parent=$PPID
kill -0 "$parent" 2>/dev/null || parent=
deadline=$((${EPOCHREALTIME/./} + wait_seconds_us))
until (check "$@") 2>/dev/null; do
    if ((${EPOCHREALTIME/./} >= deadline)) || [[ $1 == pid && -e $2.dead ]]; then
        echo "not ready: $*" >&2
        exit 1
    fi
    if [[ -n $parent ]] && ! kill -0 "$parent" 2>/dev/null; then
        echo "not ready: $* (whoever started the probe is gone: it stops waiting)" >&2
        exit 1
    fi
    sleep 0.05
done
