"""Kraken's error codes as the emulator answers them, in the documented envelope.

Each entry is worded after Kraken's public error-code reference where it has a page and
kraken_api.md where it does not.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

INTERNAL_ERROR = "KT-CT-7899"
_UNAUTHORIZED = (
    "AUTHORIZATION",
    "Unauthorized.",
    "The viewer is not authorized to execute the query/mutation. "
    "Check authentication or roles/permissions.",
)
_INVALID_CREDENTIAL = (
    "AUTHORIZATION",
    "Invalid data.",
    "The Authorization header does not hold a valid token.",
)
_REAUTHENTICATE = ("AUTHORIZATION", "Invalid token.", "Obtain a new token and try again.")

CATALOGUE: dict[str, tuple[str, str, str]] = {
    "KT-CT-1111": _UNAUTHORIZED,
    "KT-CT-1112": (
        "AUTHORIZATION",
        "'Authorization' header not provided.",
        "You must provide the AUTHORIZATION header while executing the query/mutation.",
    ),
    "KT-CT-1113": ("AUTHORIZATION", "Disabled GraphQL field requested.", ""),
    "KT-CT-1114": ("AUTHORIZATION", "Disabled GraphQL field requested.", ""),
    "KT-CT-1120": ("APPLICATION", "The Kraken Token has expired.", ""),
    "KT-CT-1124": ("APPLICATION", "Signature of the JWT has expired.", ""),
    "KT-CT-1125": _REAUTHENTICATE,
    "KT-CT-1126": _REAUTHENTICATE,
    "KT-CT-1127": _REAUTHENTICATE,
    "KT-CT-1128": _UNAUTHORIZED,
    "KT-CT-1143": _INVALID_CREDENTIAL,
    "KT-CT-1144": _INVALID_CREDENTIAL,
    "KT-CT-1147": (
        "AUTHORIZATION",
        "Unable to verify token signing keys. Please try again later.",
        "",
    ),
    "KT-CT-1162": ("AUTHORIZATION", "Authentication token is no longer valid.", ""),
    "KT-CT-1163": ("AUTHORIZATION", "Authentication token is invalid.", ""),
    "KT-CT-1188": (
        "AUTHORIZATION",
        "Query is too complex.",
        "The query is too complex; request fewer fields or fewer aliases.",
    ),
    "KT-CT-1189": (
        "AUTHORIZATION",
        "Query exceeds maximum allowed node count.",
        "A request may ask for at most 10,000 nodes; use a smaller page size or fewer aliases.",
    ),
    "KT-CT-1199": (
        "AUTHORIZATION",
        "Too many requests.",
        "There were too many requests. Please try again later.",
    ),
    "KT-CT-1201": ("VALIDATION", "Invalid pagination parameters.", ""),
    "KT-CT-1202": (
        "VALIDATION",
        "Requested more records through the first value than the maximum limit.",
        "",
    ),
    "KT-CT-1203": (
        "VALIDATION",
        "Requested more records through the first value than the maximum limit.",
        "",
    ),
    "KT-CT-4177": ("AUTHORIZATION", "Unauthorized.", "The viewer may not see this data."),
    "KT-CT-4178": ("NOT_FOUND", "No account found with given account number.", ""),
    "KT-CT-4237": (
        "VALIDATION",
        "Datetime field must be timezone-aware.",
        "Ensure all datetime fields include timezone information.",
    ),
    INTERNAL_ERROR: (
        "SERVICE_AVAILABILITY",
        "An internal error occurred.",
        "Something went wrong on our side; please try again later.",
    ),
}


class KrakenError(Exception):
    """A Kraken error to answer; raised wherever the emulator refuses something."""

    def __init__(
        self, code: str | None, description: str | None = None, input_path: tuple[str, ...] = ()
    ) -> None:
        super().__init__(code or description)
        self.code = code  # None for a plain VALIDATION error without a KT-CT code
        self.description = description  # overrides the catalogue's errorDescription
        self.input_path = input_path  # for VALIDATION errors: the offending argument

    def to_graphql_error(self) -> GraphQLError:
        """The GraphQL error carrying Kraken's extensions (path and locations come later)."""
        if self.code is None:
            message = self.description or "Invalid input."
            extensions: dict[str, Any] = {"errorType": "VALIDATION"}
            if self.input_path:
                extensions["validationErrors"] = [
                    {"message": message, "inputPath": list(self.input_path)}
                ]
            return GraphQLError(message, extensions=extensions)
        error_type, message, description = CATALOGUE.get(self.code, ("APPLICATION", "Error.", ""))
        extensions = {
            "errorType": error_type,
            "errorCode": self.code,
            "errorDescription": description if self.description is None else self.description,
        }
        return GraphQLError(message, extensions=extensions)


def validation_error(message: str, *input_path: str) -> KrakenError:
    """A VALIDATION error without a KT-CT code, naming the argument at fault."""
    return KrakenError(None, message, tuple(input_path))
