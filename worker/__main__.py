import sys

from celery.__main__ import main

from worker.celery_app import prepare

prepare(sys.argv[1:])
sys.argv[1:1] = ["--app", "worker.celery_app"]
main()
