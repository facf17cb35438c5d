#!/bin/sh
# Entry point of the Shebao image.
#
#   <service>        enrollment | documents | billing | notifications (or SHEBAO_SERVICE):
#                    applies the service's migrations, then serves HTTP and consumes events
#                    until SIGTERM (exec: the service is the process that receives the signal)
#   create-topics    the one-shot job that creates the deployment's topics
#   anything else    run as given, e.g. `shebao topics` or `shebao replay ...`
set -eu
here="$(dirname "$0")"
command="${1:-${SHEBAO_SERVICE:-}}"
if [ "$#" -gt 0 ]; then shift; fi
case "$command" in
    enrollment|documents|billing|notifications)
        export SHEBAO_SERVICE="$command"
        exec python -m "services.$command" "$@"
        ;;
    create-topics)
        exec python "$here/create_topics.py" "$@"
        ;;
    "")
        echo "usage: entrypoint.sh enrollment|documents|billing|notifications|create-topics|COMMAND..." >&2
        exit 64
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
