"""Shared by the peer's web app and its Celery worker: the Redis keys and the Lua scripts.

The peer keeps the promise lambda keeps, in the usual Python way: an atomic admission in Redis
(existence, tenant, the guard, gen+1, the outbox, a history entry), a publish with publisher
confirms before the 202, and a worker that fences on gen, writes the status and its history and
acks late. It is what a team would write with Flask and Celery; it is not tuned beyond the
documented knobs (gevent, prefetch, no gossip/mingle/heartbeat).
"""
import os

import redis

PREFIX = "peer:"
REDIS_URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("PEER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
QUEUE = "peer-actions"
QUEUE_TYPE = os.environ.get("PEER_QUEUE_TYPE", "quorum")

# Same status codes as lambda: STOPPED 1 -> STARTING 3 -> STARTED 0.
ADMIT = """
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'owner', 'status')
if not cur[1] or cur[1] ~= ARGV[1] then return {'notfound'} end
if cur[2] ~= '1' and cur[2] ~= '9' then return {'refused', tonumber(cur[2])} end
local gen = redis.call('HINCRBY', key, 'gen', 1)
redis.call('HSET', key, 'status', '3', 'p_gen', gen, 'p_req', ARGV[2], 'p_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 256, '*', 'status', '3', 'gen', gen, 'request_id', ARGV[2])
return {'ok', gen}
"""

FINISH = """
local key = KEYS[1]
if redis.call('HGET', key, 'gen') ~= ARGV[1] then return 'stale' end
redis.call('HSET', key, 'status', '0', 'updated_at', ARGV[2])
redis.call('HDEL', key, 'p_gen', 'p_req', 'p_at')
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 256, '*', 'status', '0', 'gen', ARGV[1], 'worker', ARGV[4])
return 'ok'
"""


def keys(instance_id):
    return [PREFIX + "i:" + instance_id, PREFIX + "pending", PREFIX + "h:" + instance_id]


def connect():
    return redis.Redis.from_url(REDIS_URL)
