"""Fail fast, in one line, when a service the tests need is not reachable."""

import os
import sys

import psycopg
import redis


def main() -> int:
    database_url = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    try:
        psycopg.connect(database_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        print(f"PostgreSQL is not reachable at {database_url} ({first}); start it and retry.")
        return 1
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis is not reachable at {redis_url} ({exc}); start it and retry.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
