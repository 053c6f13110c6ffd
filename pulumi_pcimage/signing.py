"""Who signs the client's requests: the boto3 session (a profile), its credentials or an assumed role's, refreshed
as they expire, and the SigV4 signer for execute-api in the API's own region."""

from __future__ import annotations

import functools
import threading
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError
from requests_aws4auth import AWS4Auth

from pulumi_pcimage import errors
from pulumi_pcimage.endpoint import api_region

SERVICE = "execute-api"
DEFAULT_SIGNING_REGION = "us-east-1"
ROLE_SESSION_NAME = "pulumi-pcimage"


def signing_region(api_url: str, fallback: str | None = None) -> str:
    """The region requests are signed for: the API's own (from its host name), else fallback, else us-east-1.

    Never the image's ``region`` parameter: an API in us-east-1 can build images in eu-west-1.
    """
    return api_region(api_url) or fallback or DEFAULT_SIGNING_REGION


class LockedAuth(requests.auth.AuthBase):
    """AWS4Auth keeps the current keys on itself while signing; a lock keeps threads from mixing two key sets."""

    def __init__(self, auth: AWS4Auth):
        self._auth = auth
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            try:
                return self._auth(request)
            except RuntimeError as exc:  # botocore: "the refreshed credentials are still expired"
                raise errors.MissingCredentialsError(
                    f"the AWS credentials have expired and refreshing them gave expired ones again: {exc}",
                    hint="refresh the AWS credentials (e.g. `aws sso login`, or check the credential_process's "
                         "Expiration), and check the system clock") from exc


class Signer:
    """The credentials of one client, found on first use (no boto3 session before a call) and kept, and the one
    signer built from them. Safe to share between threads."""

    def __init__(self, api_url: str, *, region: str | None = None, profile: str | None = None,
                 role_arn: str | None = None, session: Any = None):
        self.api_url = api_url  # named in the error when there are no credentials at all
        self.profile = profile
        self.role_arn = role_arn
        self._region = region
        self._session = session
        self._auth: LockedAuth | None = None
        self._lock = threading.RLock()  # auth() holds it while signing_region may build the boto3 session

    @property
    def region(self) -> str | None:
        """The default region of images: the one given, else the boto3 session's."""
        return self._region or self.boto_session().region_name

    @property
    def signing_region(self) -> str:
        return signing_region(self.api_url, self.region)

    def boto_session(self):
        with self._lock:
            if self._session is None:
                import boto3
                from botocore.exceptions import ProfileNotFound

                try:
                    self._session = boto3.Session(profile_name=self.profile)
                except ProfileNotFound:
                    raise errors.MissingCredentialsError(
                        f"AWS profile {self.profile!r} is not defined in the AWS config or credentials files",
                        hint="create it (`aws configure --profile NAME` or `aws configure sso`) or set "
                             "another profile") from None
            return self._session

    def auth(self) -> LockedAuth:
        """The request signer, built once."""
        session = self.boto_session()
        with self._lock:
            if self._auth is None:
                try:
                    credentials = self._credentials(session)
                except (BotoCoreError, ClientError) as exc:  # e.g. a broken credential_process or SSO cache
                    raise self.credentials_error(exc) from exc
                self._auth = LockedAuth(AWS4Auth(refreshable_credentials=credentials, service=SERVICE,
                                                 region=self.signing_region))
            return self._auth

    def _credentials(self, session):
        """Credentials that refresh themselves (SSO, instance role, assumed role) so long builds keep signing."""
        from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

        credentials = session.get_credentials()
        if credentials is None:
            raise errors.MissingCredentialsError(
                f"no AWS credentials to sign requests to {self.api_url}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE "
                     "or the profile setting (run `aws sso login` for SSO profiles), or run with an instance role")
        if not self.role_arn:
            return credentials
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(session.client, region_name=session.region_name or self.signing_region),
            source_credentials=credentials, role_arn=self.role_arn,
            extra_args={"RoleSessionName": ROLE_SESSION_NAME})
        return DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")

    def credentials_error(self, exc: Exception) -> errors.MissingCredentialsError:
        """What a botocore failure to get or refresh credentials (SSO, STS) means for the user."""
        what = f"assume role {self.role_arn}" if self.role_arn else "obtain AWS credentials"
        return errors.MissingCredentialsError(
            f"could not {what}: {exc}",
            hint="refresh the source credentials (e.g. `aws sso login`)" + (
                " and check that they may call sts:AssumeRole on the role" if self.role_arn else ""))
