"""Capture on many machines: jobs on a Dramatiq queue over Redis, packages in a store.

``submit``/``wait`` (the coordinator), ``run_worker`` (``archiver worker``),
``list_jobs`` (``archiver jobs``), ``ingest_job``/``fetch_store`` (the coordinator's
index from job results, or from the store alone). Only this package imports the engine.
"""

from __future__ import annotations

from .coordinator import Submitted, job_ids, list_jobs, submit, wait
from .engine import BrokerUnavailable, QueueSettings
from .ingest import Ingested, fetch_store, ingest_job, job_key, package_job_id
from .worker import run_worker

__all__ = [
    "BrokerUnavailable",
    "Ingested",
    "QueueSettings",
    "Submitted",
    "fetch_store",
    "ingest_job",
    "job_ids",
    "job_key",
    "list_jobs",
    "package_job_id",
    "run_worker",
    "submit",
    "wait",
]
