"""Talk to a Reality Modeling endpoint: RealityModelingClient and its credentials."""

from rmapply.client.auth import (
    DEFAULT_SCOPE,
    IMS_TOKEN_URL,
    Auth,
    ClientCredentials,
    StaticToken,
    auth_from_env,
)
from rmapply.client.client import RealityModelingClient
from rmapply.client.events import (
    ClientEvent,
    EventSink,
    OutcomeVerified,
    RateLimitWait,
    RetryScheduled,
    TokenRefreshed,
)
from rmapply.client.retrying import RetryPolicy, RetryRule
from rmapply.client.secrets import Secret
from rmapply.client.transport import (
    HttpAnswer,
    HttpTransport,
    MaybeSent,
    NeverSent,
    TimedOutAfterSending,
    Timeout,
    TransportFailure,
)

__all__ = [
    "DEFAULT_SCOPE",
    "IMS_TOKEN_URL",
    "Auth",
    "ClientCredentials",
    "ClientEvent",
    "EventSink",
    "HttpAnswer",
    "HttpTransport",
    "MaybeSent",
    "NeverSent",
    "OutcomeVerified",
    "RateLimitWait",
    "RealityModelingClient",
    "RetryPolicy",
    "RetryRule",
    "RetryScheduled",
    "Secret",
    "StaticToken",
    "TimedOutAfterSending",
    "Timeout",
    "TokenRefreshed",
    "TransportFailure",
    "auth_from_env",
]
