"""Sign-in gate on the real entry script: with [auth] in the secrets only allow-listed, signed-in users see the
cohort; an allow-list without [auth] serves nothing; without either the app runs as on localhost.

``at.secrets`` stands for .streamlit/secrets.toml and ``at.user`` for the identity cookie st.login sets;
``RLS_DASHBOARD_CONFIG`` points the app at a dashboard.toml written by the test.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest.conftest import APP, metric

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only-cookie-secret",
                 "client_id": "rls-dashboard", "client_secret": "test-only-client-secret",
                 "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}}
ACCESS = '[access]\nallowed_emails = ["Alice@Example.org"]\nallowed_domains = ["clinic.example.net"]\n'


@pytest.fixture
def deployment(app_data, tmp_path, monkeypatch):
    """Run the app with this dashboard.toml text (no [data]: the data come from the app_data fixture), secrets and
    signed-in user."""

    def run(config: str = "", secrets: dict | None = None, user: dict | None = None) -> AppTest:
        path = tmp_path / "dashboard.toml"
        path.write_text(config, encoding="utf-8")
        monkeypatch.setenv("RLS_DASHBOARD_CONFIG", str(path))
        at = AppTest.from_file(APP, default_timeout=120)
        at.secrets.update(secrets or {})
        if user is not None:
            at.user = user
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return run


def signed_in(email: str, **claims) -> dict:
    return {"is_logged_in": True, "email": email, "name": "Test User", **claims}


def assert_no_cohort(at: AppTest) -> None:
    """Nothing of the cohort: no numbers, tables, charts, filters or page navigation."""
    assert not at.metric and not at.dataframe and not at.table and not at.get("vega_lite_chart")
    assert not at.multiselect and not at.select_slider and not at.selectbox
    assert not at.sidebar.children
    assert not at.subheader


def test_without_auth_or_access_list_the_overview_renders_as_before(deployment, engine, options):
    at = deployment()
    assert metric(at, "Participants").replace(",", "").isdigit()
    assert [s.value for s in at.subheader][:2] == ["Attrition", "Table 1 by sex"]
    assert at.sidebar.multiselect(key="filter_sex")
    assert not [b for b in at.button if b.key in ("sign_in", "sign_out")]


@pytest.mark.parametrize("user", [{"is_logged_in": False}, {"email": "alice@example.org"}, {}],
                         ids=["logged-out", "email-without-login-flag", "no-claims"])
def test_with_auth_a_visitor_who_has_not_signed_in_sees_only_the_sign_in_screen(deployment, user):
    at = deployment(ACCESS, AUTH, user)
    assert at.button(key="sign_in").label == "Sign in"
    assert at.title[0].value == "RLS cohort dashboard"
    assert not at.error
    assert_no_cohort(at)


@pytest.mark.parametrize("email", ["alice@example.org", "ALICE@example.ORG", "bob@clinic.example.net"])
def test_an_allow_listed_user_sees_the_overview_and_a_sign_out_button(deployment, email):
    at = deployment(ACCESS, AUTH, signed_in(email))
    assert metric(at, "Participants").replace(",", "").isdigit()
    assert at.sidebar.button(key="sign_out").label == "Sign out"
    assert at.sidebar.caption[0].value == f"Signed in as {email}"
    assert at.sidebar.multiselect(key="filter_sex")


@pytest.mark.parametrize("user", [signed_in("mallory@example.org"), signed_in("eve@sub.clinic.example.net"),
                                  signed_in("alice@example.org", email_verified=False)],
                         ids=["other-address", "subdomain", "unverified"])
def test_a_signed_in_user_not_on_the_list_is_not_authorised(deployment, user):
    at = deployment(ACCESS, AUTH, user)
    assert len(at.error) == 1 and at.error[0].value.startswith("Not authorised")
    assert at.button(key="sign_out").label == "Sign out"
    assert len(at.button) == 1
    assert_no_cohort(at)


def test_with_auth_but_no_access_list_nobody_is_authorised(deployment):
    at = deployment("", AUTH, signed_in("alice@example.org"))
    assert at.error[0].value.startswith("Not authorised")
    assert_no_cohort(at)


def test_signing_out_from_the_sidebar_returns_to_the_sign_in_screen(deployment):
    at = deployment(ACCESS, AUTH, signed_in("alice@example.org"))
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception
    assert at.user.get("is_logged_in") is False
    assert at.button(key="sign_in")
    assert_no_cohort(at)


def test_signing_out_when_not_authorised_returns_to_the_sign_in_screen(deployment):
    at = deployment(ACCESS, AUTH, signed_in("mallory@example.org"))
    at.button(key="sign_out").click().run()
    assert at.button(key="sign_in") and not at.error
    assert_no_cohort(at)


@pytest.mark.parametrize("user", [None, signed_in("alice@example.org")], ids=["anonymous", "claims-without-auth"])
def test_an_access_list_without_auth_fails_closed(deployment, user):
    at = deployment(ACCESS, None, user)
    assert len(at.error) == 1
    assert "[access]" in at.error[0].value and "[auth]" in at.error[0].value
    assert not at.button
    assert_no_cohort(at)


def test_an_empty_access_table_without_auth_also_fails_closed(deployment):
    at = deployment("[access]\n")
    assert "sign-in is not" in at.error[0].value
    assert_no_cohort(at)


@pytest.mark.parametrize("config", ['[access]\nallowed_domains = ["@example.org"]\n',
                                    '[access]\nallowed_email = ["alice@example.org"]\n',
                                    "[access\n"], ids=["bad-entry", "typo-key", "not-toml"])
def test_unusable_access_settings_fail_closed_with_or_without_auth(deployment, config):
    for secrets in (None, AUTH):
        at = deployment(config, secrets, signed_in("alice@example.org"))
        assert at.error[0].value.startswith("The access settings in dashboard.toml cannot be used")
        assert "alice@example.org" not in at.error[0].value
        assert_no_cohort(at)


def test_incomplete_auth_secrets_show_no_sign_in_button(deployment):
    secrets = {"auth": {k: v for k, v in AUTH["auth"].items() if k != "cookie_secret"}}
    at = deployment(ACCESS, secrets, {"is_logged_in": False})
    assert "cookie_secret" in at.error[0].value
    assert not at.button
    assert_no_cohort(at)
