"""/api/v1 twins of the notice delivery page actions: queue failed notice e-mails again (all, or one).
Both call the page's own service (subprocessor.notices.requeue); nothing is sent during the request."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from dpa_tracker.api.common import blp, checked_first, current, fail, require_write
from dpa_tracker.breach.notices import failed_notices as failed_breach_notices
from dpa_tracker.breach.notices import requeue as requeue_breach_notices
from dpa_tracker.extensions import db
from dpa_tracker.models import NoticeDelivery
from dpa_tracker.subprocessor.notices import failed_deliveries, requeue


class RequeueOut(Schema):
    queued = fields.Integer(
        metadata={
            "description": "How many failed e-mails were queued again (a delivery that has not failed is left as it is)"
        }
    )


def staff_delivery(delivery_id: int) -> None:
    require_write()
    if db.session.get(NoticeDelivery, delivery_id) is None:
        fail(404, f"No notice delivery with id {delivery_id}.")


@blp.route("/notices/retry", methods=["POST"])
@checked_first(require_write)
@blp.response(200, RequeueOut, example={"queued": 3})
def retry_failed_notices_api() -> Any:
    """Queue every failed notice e-mail again (change notices and breach notices); the next `flask notices send`
    delivers them (staff only)."""
    count = requeue(current(), failed_deliveries()) + requeue_breach_notices(current(), failed_breach_notices())
    db.session.commit()
    return {"queued": count}


@blp.route("/notice-deliveries/<int:delivery_id>/retry", methods=["POST"])
@checked_first(staff_delivery)
@blp.response(200, RequeueOut, example={"queued": 1})
def retry_notice_delivery_api(delivery_id: int) -> Any:
    """Queue one failed notice e-mail again (staff only); `queued` is 0 when it had not failed."""
    delivery = db.get_or_404(NoticeDelivery, delivery_id)  # role and existence: staff_delivery
    count = requeue(current(), [delivery])
    db.session.commit()
    return {"queued": count}
