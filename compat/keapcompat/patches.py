"""Base-URL monkeypatches, one function per client library. Nothing else of a library is touched.

Each patch replaces a class-level URL constant the library defines (it offers no setting for it)
with the same URL on keapsake: the scheme and host change, the path stays byte for byte. Before
patching, the constant's current value is checked against what the pinned version ships, so an
upgrade that moves or renames a constant fails loudly instead of silently talking to Keap (which the
wire guard would refuse anyway). compat/README.md lists every patch with its reason.
"""

from urllib.parse import urlsplit, urlunsplit

applied = []  # (dotted name, original, new) of every patch, for the run summary


def _on(base, keap_url):
    b = urlsplit(base)
    u = urlsplit(keap_url)
    return urlunsplit((b.scheme, b.netloc, u.path, u.query, u.fragment))


def _patch(owner, attr, expected, base):
    name = f"{owner.__module__}.{owner.__qualname__}.{attr}"
    current = getattr(owner, attr)
    if current == _on(base, expected):
        return  # already patched (idempotent)
    if current != expected:
        raise RuntimeError(f"{name} is {current!r}, expected {expected!r}: the library changed, review the patch")
    new = _on(base, expected)
    setattr(owner, attr, new)
    applied.append((name, expected, new))


def keap_python(base):
    """keap-python 1.3.0: every host is a class attribute; there is no configuration key for any."""
    import importlib

    # `keap/__init__.py` rebinds `keap.Keap` to the class, so fetch the modules themselves.
    K = importlib.import_module("keap.Keap").Keap
    rest_base = importlib.import_module("keap.REST.BaseService").BaseService
    xml_base = importlib.import_module("keap.XML.BaseService").BaseService
    _patch(K, "authorize_url", "https://signin.infusionsoft.com/app/oauth/authorize", base)
    _patch(K, "access_token_url", "https://api.infusionsoft.com/token", base)
    # Unused by the library's own code paths, patched so no Keap URL is left on the class.
    _patch(K, "rest_url", "https://api.infusionsoft.com/crm/rest/v1/", base)
    _patch(rest_base, "base_api_url", "https://api.infusionsoft.com/crm/rest/v1", base)
    # XML-RPC services are built (not called) whenever a token is saved; patched for completeness.
    _patch(xml_base, "xmlrpc_url", "https://api.infusionsoft.com/crm/xmlrpc/v1", base)


def infusionsoft_python(base):
    """infusionsoft-python 0.1.6: only the REST base is a constant (`Client.api_base_url`).

    Its authorization URL and token URL are string literals inside `oauth_access`, `exchange_code`
    and `refresh_token`; they are not patched (that would mean editing the methods) but reach
    keapsake through `wire.reroute`, the transport-level equivalent of a hosts-file entry.
    """
    import infusionsoft.client

    _patch(infusionsoft.client.Client, "api_base_url", "https://api.infusionsoft.com/crm/rest/v1/", base)
