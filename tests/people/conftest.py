from tests.scim.conftest import _fresh_rate_limits, hris_key, scim  # noqa: F401
