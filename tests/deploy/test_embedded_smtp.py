"""``make run`` makes the ``assay_smtp`` connection from ``ASSAY_SMTP_*``: STARTTLS unless told otherwise.

Each case sends through the SMTP provider's own hook, with the connection ``scripts/setup_embedded.py``
builds, to a real SMTP server (aiosmtpd): one that offers STARTTLS with a certificate the client trusts
(``SSL_CERT_FILE``), and one that offers no TLS at all, as a local relay does.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import json
import ssl
from pathlib import Path

import pytest
from support.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup_embedded():
    spec = importlib.util.spec_from_file_location("setup_embedded", REPO / "scripts" / "setup_embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def tls_sink(certificate, monkeypatch):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this server's certificate
    sink = SmtpSink(tls_context=context)
    yield sink
    sink.close()


@pytest.fixture
def plain_sink():
    sink = SmtpSink()
    yield sink
    sink.close()


def send(conn: dict, monkeypatch) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_SMTP", json.dumps(conn | {"extra": conn["extra"] | {"retry_limit": 0}}))
    with SmtpHook(smtp_conn_id="assay_smtp") as hook:
        hook.send_email_smtp(to=["oncall@example.com"], subject="[Assay] test", html_content="<p>hello</p>")


def test_the_default_is_starttls_on_587(setup_embedded):
    conn = setup_embedded.smtp_connection({"ASSAY_SMTP_HOST": "smtp.example.com"})
    assert conn["port"] == 587
    assert conn["extra"] == {"from_email": "assay@localhost", "disable_ssl": True, "disable_tls": False}


def test_the_default_connection_delivers_over_starttls(setup_embedded, tls_sink, monkeypatch):
    env = {"ASSAY_SMTP_HOST": "127.0.0.1", "ASSAY_SMTP_PORT": str(tls_sink.port)}
    send(setup_embedded.smtp_connection(env), monkeypatch)
    assert len(tls_sink.messages) == 1 and tls_sink.over_tls == [True]


def test_the_default_connection_never_falls_back_to_plain_text(setup_embedded, plain_sink, monkeypatch):
    env = {"ASSAY_SMTP_HOST": "127.0.0.1", "ASSAY_SMTP_PORT": str(plain_sink.port)}
    with pytest.raises(Exception, match="STARTTLS"):
        send(setup_embedded.smtp_connection(env), monkeypatch)
    assert plain_sink.messages == []


def test_a_local_relay_without_tls_is_one_setting_away(setup_embedded, plain_sink, monkeypatch):
    assert (
        setup_embedded.smtp_connection({"ASSAY_SMTP_HOST": "localhost", "ASSAY_SMTP_STARTTLS": "false"})["port"] == 25
    )
    env = {"ASSAY_SMTP_HOST": "127.0.0.1", "ASSAY_SMTP_PORT": str(plain_sink.port), "ASSAY_SMTP_STARTTLS": "false"}
    send(setup_embedded.smtp_connection(env), monkeypatch)
    assert len(plain_sink.messages) == 1 and plain_sink.over_tls == [False]


def test_implicit_tls_is_its_own_choice(setup_embedded):
    conn = setup_embedded.smtp_connection({"ASSAY_SMTP_HOST": "smtp.example.com", "ASSAY_SMTP_SSL": "true"})
    assert conn["port"] == 465 and conn["extra"]["disable_ssl"] is False and conn["extra"]["disable_tls"] is True


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ASSAY_SMTP_STARTTLS": "maybe"}, "ASSAY_SMTP_STARTTLS='maybe' is not a boolean"),
        ({"ASSAY_SMTP_SSL": "true", "ASSAY_SMTP_STARTTLS": "true"}, "choose one"),
        ({"ASSAY_SMTP_PORT": "smtp"}, "ASSAY_SMTP_PORT='smtp' is not a port number"),
    ],
)
def test_bad_settings_say_what_to_fix(setup_embedded, env, message):
    with pytest.raises(ValueError, match=message):
        setup_embedded.smtp_connection({"ASSAY_SMTP_HOST": "h", **env})
