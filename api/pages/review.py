"""``GET /inspecciones/revision``: the supervisors' review of field inspections (es-MX).

A map and a table of the inspections, in sync, with filters kept in the URL (the
same query parameters as ``GET /inspections-review``, so a link shares a view), the
record of one (photos, annotations, history), the moves one at a time or in bulk,
and the exports of the filtered set. The page only shows; the JSON API decides
(``api.routes.review``, ``api.routes.inspections``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import session_of
from api.deps import ConnectionDep
from api.pages.common import refused, render, to_sign_in
from geo.errors import Forbidden
from layers.inspections import store
from services import review

router = APIRouter(tags=["pages"])


@router.get(
    "/inspecciones/revision",
    response_class=HTMLResponse,
    summary="Revisión de inspecciones (supervisores)",
)
def review_page(request: Request, conn: ConnectionDep) -> Response:
    caller = session_of(request)
    if caller is None:
        return to_sign_in(request)
    try:
        choices = review.filter_choices(conn, caller)
    except Forbidden as exc:
        return refused(exc.message)
    return render(
        "revision.html",
        caller=caller,
        choices=choices,
        categories=store.categories(conn),
        review_es=review.REVIEW_ES,
        follow_up_es=review.FOLLOW_UP_ES,
        may=review.may_act(caller),
        bulk_max=review.BULK_MAX,
    )
