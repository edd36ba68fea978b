#!/bin/sh
# `valkey-server [config file] [--option value ...]` with protected mode off unless a later
# option says otherwise (the official image compiles its default off); anything else runs as is.
set -eu
if [ "${1:-}" = valkey-server ]; then
    shift
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
        config=$1
        shift
        exec valkey-server "$config" --protected-mode no "$@"
    fi
    exec valkey-server --protected-mode no "$@"
fi
exec "$@"
