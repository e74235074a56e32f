"""Per-key rate limits, counted in the shared cache (Redis in production), so every web
process enforces the same budget. A browser session gets its own budget per user."""

import os

from rest_framework.throttling import SimpleRateThrottle

from api.authentication import ApiClient

# DRF's sliding window, as a Redis sorted set of the allowed requests' times, in one atomic
# call: drop those older than the window, refuse at the limit (answering the count and the
# oldest time, for Retry-After), else add this one. DRF keeps the same window as one list
# it reads, unpickles, pickles and writes back whole on every request: with a budget of
# thousands a minute (an HRIS sync), ~1 ms a request and growing with the rate; two
# processes could also each read the list before the other wrote it and both be let in.
SLIDE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, count, oldest[2] or ARGV[1]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return {1, count + 1, ARGV[1]}
"""


class PerClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            ident = user.client_id
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        slide = _sliding_window(self.cache)
        if slide is None or self.rate is None:
            return super().allow_request(request, view)  # the list in any other cache
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        allowed, self.counted, oldest = slide(  # EVALSHA, the script sent once
            keys=[self.cache.make_key(self.key) + ":z"],  # not the list's key: another type
            args=[
                repr(self.now),
                self.duration,
                self.num_requests,
                f"{self.now!r}:{os.urandom(6).hex()}",  # one member per request
            ],
        )
        self.oldest = float(oldest)
        return bool(allowed)

    def wait(self):
        if not hasattr(self, "counted"):
            return super().wait()
        # DRF's own advice, from the same two numbers its list would give.
        remaining = self.duration - (self.now - self.oldest)
        available = self.num_requests - self.counted + 1
        return remaining / available if available > 0 else None


def _sliding_window(cache):
    """The script, bound to a Redis client of the cache's own pool; None for another cache.
    Kept on the cache's client object (one per thread), so it lives exactly as long: a
    module-level cache keyed by it kept every thread's client alive (runserver makes a thread
    per request). get_client() builds a client each time, hence keeping one."""
    backend = getattr(cache, "_cache", None)  # django.core.cache.backends.redis.RedisCache
    if not hasattr(backend, "get_client"):
        return None
    script = getattr(backend, "_portal_sliding_window", None)
    if script is None:
        script = backend._portal_sliding_window = backend.get_client(write=True).register_script(
            SLIDE
        )
    return script
