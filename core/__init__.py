"""What every process shares: settings, the request-id context, logging setup, and the Celery
client side (the task contract, the publish-only client). Imports nothing of app, worker or
scripts."""
