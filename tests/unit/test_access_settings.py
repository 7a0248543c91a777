"""The allow-list: how dashboard.toml's [access] table is read and who it lets in; how [auth] is found in the
Streamlit secrets."""

from __future__ import annotations

import tomllib

import pytest
import streamlit as st
from streamlit.runtime.secrets import Secrets
from streamlit import config as streamlit_config

from dashboard.auth import PROVIDER_KEYS, SecretsUnreadable, auth_section, claimed_email, is_allowed
from deployment.settings import ROOT, AccessConfigError, AccessList, access_list, config_file, load_access

ALLOWED = AccessList(frozenset({"alice@example.org", "kate@example.org"}), frozenset({"clinic.example.net"}), True)


@pytest.mark.parametrize("email", ["alice@example.org", "Alice@Example.ORG", "ALICE@EXAMPLE.ORG",
                                   "bob@clinic.example.net", "Bob.Smith+rls@CLINIC.example.net"])
def test_listed_addresses_and_domains_are_allowed_in_any_case(email):
    assert is_allowed(email, ALLOWED)


@pytest.mark.parametrize("email", [
    "bob@example.org",                    # domain of a listed address is not a listed domain
    "alice@example.org.evil.com",         # listed address as a prefix
    "alice@sub.example.org",
    "x@sub.clinic.example.net",           # subdomains are not included
    "x@evilclinic.example.net",
    "x@clinic.example.net.evil.com",
    "clinic.example.net",                 # a domain is not an address
    "@clinic.example.net",
    "alice@example.org ",                 # padding is not trimmed from a claim
    " alice@example.org",
    '"alice@example.org"@evil.com',
    "alice@evil.com@example.org",
    "alice@example.org\n",
    "\u212aate@example.org",              # KELVIN SIGN lower-cases to "k": no non-ASCII look-alikes
    "",
    None,
    42,
])
def test_anything_else_is_refused(email):
    assert not is_allowed(email, ALLOWED)


def test_an_empty_list_allows_nobody():
    assert not is_allowed("alice@example.org", AccessList(configured=True))
    assert not is_allowed("alice@example.org", AccessList())


@pytest.mark.parametrize(("claims", "expected"), [
    ({"email": "a@example.org"}, "a@example.org"),
    ({"email": "a@example.org", "email_verified": True}, "a@example.org"),
    ({"email": "a@example.org", "email_verified": "true"}, "a@example.org"),
    ({"email": "a@example.org", "email_verified": False}, None),
    ({"email": "a@example.org", "email_verified": "false"}, None),    # some providers send strings
    ({"email": "a@example.org", "email_verified": "False"}, None),
    ({"name": "A"}, None),
    ({"email": ["a@example.org"]}, None),
])
def test_the_claimed_address_counts_only_when_not_marked_unverified(claims, expected):
    assert claimed_email(claims) == expected


def test_the_access_table_is_normalised():
    config = tomllib.loads("""
        [access]
        allowed_emails = [" Alice@Example.org ", "bob.o'neil+rls@example.org"]
        allowed_domains = ["Clinic.Example.NET", "xn--bcher-kva.example"]
    """)
    assert access_list(config) == AccessList(frozenset({"alice@example.org", "bob.o'neil+rls@example.org"}),
                                             frozenset({"clinic.example.net", "xn--bcher-kva.example"}), True)


def test_without_an_access_table_nothing_is_configured():
    assert access_list({"data": {"path": "x"}}) == AccessList()
    assert not access_list({}).configured


def test_an_empty_access_table_still_counts_as_configured():
    assert access_list(tomllib.loads("[access]")) == AccessList(configured=True)


@pytest.mark.parametrize(("text", "message"), [
    ('allowed_emails = "alice@example.org"', "allowed_emails must be a list"),
    ('allowed_emails = ["alice"]', "allowed_emails: entry 1 is not an e-mail address"),
    ('allowed_emails = ["a@example.org", "b@@example.org"]', "allowed_emails: entry 2"),
    ('allowed_emails = ["a b@example.org"]', "entry 1"),
    ('allowed_emails = ["a@localhost"]', "entry 1"),
    ('allowed_emails = [3]', "entry 1"),
    ('allowed_emails = ["ärzte@example.org"]', "entry 1"),
    ('allowed_domains = ["@example.org"]', "allowed_domains: entry 1 is not a domain name (without '@')"),
    ('allowed_domains = ["example"]', "allowed_domains: entry 1"),
    ('allowed_domains = ["*.example.org"]', "allowed_domains: entry 1"),
    ('allowed_domains = ["example.org."]', "allowed_domains: entry 1"),
    ('allowed_domain = ["example.org"]', "unknown keys: allowed_domain"),
])
def test_a_bad_access_table_is_refused_naming_key_and_entry(text, message):
    with pytest.raises(AccessConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        access_list(tomllib.loads(f"[access]\n{text}"))


def test_a_non_table_access_key_is_refused():
    with pytest.raises(AccessConfigError, match="must be a table"):
        access_list({"access": ["alice@example.org"]})


def test_load_access_reads_the_configured_file_on_each_call(tmp_path, monkeypatch):
    path = tmp_path / "dashboard.toml"
    monkeypatch.setenv("RLS_DASHBOARD_CONFIG", str(path))
    assert config_file() == path
    assert load_access() == AccessList()
    path.write_text('[access]\nallowed_domains = ["example.org"]\n', encoding="utf-8")
    assert load_access() == AccessList(domains=frozenset({"example.org"}), configured=True)


def test_the_shipped_dashboard_toml_leaves_access_off(monkeypatch):
    monkeypatch.delenv("RLS_DASHBOARD_CONFIG", raising=False)
    assert load_access() == AccessList()


def test_the_secrets_example_has_every_key_the_sign_in_screen_requires():
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))
    assert set(PROVIDER_KEYS) <= set(example["auth"])


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """Point Streamlit's real secrets loader at one file in tmp_path, with a fresh unparsed ``st.secrets``."""
    path = tmp_path / "secrets.toml"
    saved = streamlit_config.get_option("secrets.files")
    streamlit_config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(st, "secrets", Secrets())
    yield path
    streamlit_config.set_option("secrets.files", saved)


@pytest.mark.parametrize(("text", "expected"), [
    (None, None),                                            # no secrets file: sign-in off
    ('[other]\nkey = "x"\n', None),                          # secrets without [auth]: sign-in off
    ('[auth]\nredirect_uri = "https://x.example/cb"\n', {"redirect_uri": "https://x.example/cb"}),
    ("[auth\n", SecretsUnreadable),                          # present but unparseable: not taken for "off"
])
def test_the_auth_section_is_read_from_the_secrets_files(secrets_file, text, expected):
    if text is not None:
        secrets_file.write_text(text, encoding="utf-8")
    if expected is SecretsUnreadable:
        with pytest.raises(SecretsUnreadable):
            auth_section()
    else:
        section = auth_section()
        assert (dict(section) if section is not None else None) == expected
