import sys

from celery.__main__ import main

from core.settings import get_settings
from worker.celery_app import prepare
from worker.flower import flower_args  # part: flower

argv = sys.argv[1:]
# part: flower
if argv[:1] == ["flower"]:  # read-only, on the settings' port, behind their basic auth
    argv = ["flower", *flower_args(get_settings(), argv[1:])]
# end part: flower
prepare(argv)
sys.argv[1:] = ["--app", "worker.celery_app", *argv]
main()
