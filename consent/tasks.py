"""The ledger's periodic job: a signed checkpoint of its head, written outside the database."""

import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings

from consent import checkpoints

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def write_ledger_checkpoint() -> str:
    """Write one checkpoint into PORTAL_LEDGER_CHECKPOINT_DIR. Running twice only writes two
    files (each names its own time): nothing to guard."""
    path, checkpoint = checkpoints.write_to_directory(Path(settings.PORTAL_LEDGER_CHECKPOINT_DIR))
    logger.info(
        "ledger checkpoint %s: %s records, head %s", path, checkpoint.count, checkpoint.hash
    )
    return str(path)
