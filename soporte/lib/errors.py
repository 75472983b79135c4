"""Errors the service layer raises; the API and pages map each to a 4xx answer."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out, with a message fit to show the user."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    """A malformed request, e.g. a list cursor the server never issued."""

    status = 400


class InvalidInput(ServiceError):
    status = 422


class PermissionDenied(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class UnsupportedMedia(ServiceError):
    status = 415
