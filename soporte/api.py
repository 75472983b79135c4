"""The REST API root (/api/v1): authentication, error shapes, and each area's router."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer

from soporte.accounts.api import router as accounts_router
from soporte.accounts.services import authenticate_token
from soporte.assets.api import router as assets_router
from soporte.evaluations.api import router as evaluations_router
from soporte.flows.api import router as flows_router
from soporte.jobs.api import router as jobs_router
from soporte.kb.api import router as kb_router
from soporte.lib.errors import ServiceError
from soporte.mail.api import router as mail_router
from soporte.playbooks.api import router as playbooks_router
from soporte.problems.api import router as problems_router
from soporte.reports.api import router as reports_router
from soporte.search.api import router as search_router
from soporte.sla.api import router as sla_router
from soporte.tickets.api import categories_router, macros_router, time_router
from soporte.tickets.api import router as tickets_router
from soporte.training.api import router as training_router
from soporte.triage.api import router as triage_router

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer sop_...`, a personal token made at POST /api/v1/tokens."""

    def authenticate(self, request: HttpRequest, token: str):
        return authenticate_token(token)


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods must carry the CSRF token."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(settings.SESSION_COOKIE_NAME)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if reason is not None:
                raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return user


api = NinjaAPI(
    title="Soporte API",
    version="1",
    description="Help desk tickets, people and teams. Authenticate with a personal token "
    "(`Authorization: Bearer sop_...`) or a signed-in session.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError):
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError):
    response = api.create_response(
        request, {"detail": "Authentication required: a token or a session."}, status=401
    )
    response["WWW-Authenticate"] = 'Bearer realm="soporte"'
    return response


@api.exception_handler(SuspiciousOperation)
def unreadable_request(request: HttpRequest, exc: SuspiciousOperation):
    """A body past DATA_UPLOAD_MAX_MEMORY_SIZE, too many form fields...: JSON like the rest
    (Django's own answer would be an HTML page)."""
    log.warning("Unreadable API request to %s: %s", request.path, exc)
    if isinstance(exc, RequestDataTooBig):
        detail, status = "The request body is too large.", 413
    else:
        detail, status = "The request could not be read.", 400
    return api.create_response(request, {"detail": detail}, status=status)


api.add_router("/tickets", tickets_router)
api.add_router("/categories", categories_router)
api.add_router("/macros", macros_router)
api.add_router("/mail", mail_router)
api.add_router("/search", search_router)
api.add_router("/jobs", jobs_router)
api.add_router("/sla", sla_router)
api.add_router("/kb", kb_router)
api.add_router("/assets", assets_router)
api.add_router("/problems", problems_router)
api.add_router("/playbooks", playbooks_router)
api.add_router("/flows", flows_router)
api.add_router("/reports", reports_router)
api.add_router("/triage", triage_router)
api.add_router("/training", training_router)
api.add_router("/evaluations", evaluations_router)
api.add_router("/time", time_router)
api.add_router("", accounts_router)
