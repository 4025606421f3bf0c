"""What ``watch run`` is asked to do (``RunOptions``) and what one pass did
(``PassResult``): plain values, no CLI objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .webhooks import WebhookPolicy

if TYPE_CHECKING:
    from ..capture.pageopts import PageSetup
    from ..capture.run import CaptureOptions


@dataclass(frozen=True)
class RunOptions:
    """What ``watch run`` was asked to do (plain values: no CLI objects)."""

    workers: int = 2
    host_delay: float = 5.0
    keep_all: bool = False
    everything: bool = False  # --now: every active watch is due
    webhooks: tuple[str, ...] = ()
    tsa_urls: tuple[str, ...] = ()
    tsa_timeout: float = 10.0
    capture_timeout: float = 30.0
    webhook_policy: WebhookPolicy = field(default_factory=WebhookPolicy)

    def capture_options(self, page: PageSetup) -> CaptureOptions:
        """What one check captures with: the run's timeouts and TSAs, the watch's page."""
        from ..capture.run import CaptureOptions

        return CaptureOptions(
            timeout=self.capture_timeout,
            tsa_urls=self.tsa_urls,
            tsa_timeout=self.tsa_timeout,
            page=page,
        )


@dataclass
class PassResult:
    """What one pass did."""

    checked: int = 0
    kept: int = 0
    logged: int = 0
    failed: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
