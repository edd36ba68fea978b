import sys

from celery.__main__ import main

sys.argv[1:1] = ["--app", "worker.celery_app"]
main()
