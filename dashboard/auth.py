"""Optional sign-in: OpenID Connect through ``st.login`` when ``[auth]`` is in the Streamlit secrets, then the
deployment's e-mail allow-list (``[access]`` in dashboard.toml). Signing in proves who someone is; only the
allow-list decides who may see the cohort.

| ``[auth]`` secrets | ``[access]`` table | the app                                                     |
|--------------------|--------------------|-------------------------------------------------------------|
| absent             | absent             | runs without sign-in (localhost default)                    |
| absent             | present            | serves nothing and says sign-in is missing (fails closed)   |
| present            | absent or empty    | nobody is authorised                                        |
| present            | present            | sign-in screen, then listed addresses and domains only      |
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from deployment.settings import AccessConfigError, AccessList, is_email, load_access

LOG = logging.getLogger(__name__)
PROVIDER_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def is_allowed(email: str | None, allowed: AccessList) -> bool:
    """Whether this address may use the dashboard: listed exactly, or its whole domain is listed (ASCII, any case).

    Anything that is not one plain ``local@domain`` address is refused, so a quoted or non-ASCII address cannot
    case-fold into a listed one.
    """
    if not isinstance(email, str) or not email.isascii():
        return False
    address = email.lower()
    if not is_email(address):
        return False
    return address in allowed.emails or address.rpartition("@")[2] in allowed.domains


def claimed_email(claims: Mapping) -> str | None:
    """The identity token's e-mail address, unless the provider says it is not verified."""
    if str(claims.get("email_verified", "")).lower() == "false":
        return None
    email = claims.get("email")
    return email if isinstance(email, str) else None


class SecretsUnreadable(Exception):
    """A secrets file exists but Streamlit cannot parse it (so whether sign-in is wanted is unknown)."""


def auth_section() -> Mapping | None:
    """The ``[auth]`` section of the Streamlit secrets, or None when sign-in is not configured."""
    secrets = st.secrets
    if not secrets.load_if_toml_exists():
        if any(Path(path).exists() for path in st.get_option("secrets.files")):
            raise SecretsUnreadable
        return None
    if "auth" not in secrets:
        return None
    section = secrets["auth"]
    return section if isinstance(section, Mapping) else {}


def _refuse(message: str) -> None:
    st.title("RLS cohort dashboard")
    st.error(message, icon=":material/block:")
    st.stop()


def _sign_in_screen(auth: Mapping) -> None:
    st.title("RLS cohort dashboard")
    missing = [key for key in PROVIDER_KEYS if key not in auth]
    if missing:
        LOG.warning("[auth] in the secrets lacks %s: sign-in disabled", ", ".join(missing))
        _refuse(f"Sign-in is not set up correctly ([auth] lacks {', '.join(missing)}). Nothing is shown.")
    st.write("This dashboard shows de-identified cohort data to authorised staff. Sign in with your "
             "organisation's account to continue.")
    if st.button("Sign in", key="sign_in", type="primary", icon=":material/login:"):
        st.login()
    st.stop()


def _not_authorised(email: str | None) -> None:
    st.title("RLS cohort dashboard")
    who = f"{email} is" if email else "Your account has no verified e-mail address and is"
    st.error(f"Not authorised: {who} not on this dashboard's access list. Ask the data custodian for access.",
             icon=":material/block:")
    if st.button("Sign out", key="sign_out", icon=":material/logout:"):
        st.logout()
        st.rerun()
    st.stop()


def _sidebar_sign_out(email: str) -> None:
    with st.sidebar:
        st.caption(f"Signed in as {email}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.logout()
            st.rerun()


def _access_list() -> AccessList:
    try:
        return load_access()
    except (AccessConfigError, tomllib.TOMLDecodeError) as exc:
        _refuse(f"The access settings in dashboard.toml cannot be used: {exc}. Nothing is shown.")


def _auth_or_refuse(allowed: AccessList) -> Mapping | None:
    try:
        auth = auth_section()
    except SecretsUnreadable:
        _refuse("The Streamlit secrets file cannot be read, so whether sign-in is required is unknown. "
                "Nothing is shown.")
    if auth is None and allowed.configured:
        _refuse("An access list is configured ([access] in dashboard.toml) but sign-in is not "
                "([auth] in .streamlit/secrets.toml), so nobody can be checked against it. Nothing is shown "
                "until sign-in is configured or the access list is removed.")
    return auth


def gate() -> None:
    """Let this run continue only if the visitor may see the cohort; otherwise draw why not and stop the script.

    Call it in the entry script before the navigation: nothing of the cohort (pages, filters, data) is built for
    a visitor who is refused.
    """
    allowed = _access_list()
    auth = _auth_or_refuse(allowed)
    if auth is None:
        return
    claims = st.user.to_dict()
    if claims.get("is_logged_in") is not True:
        _sign_in_screen(auth)
    email = claimed_email(claims)
    if not is_allowed(email, allowed):
        _not_authorised(email)
    _sidebar_sign_out(email)
