"""The peer's Celery app: one task, the start action (late ack: a worker that dies mid-task
leaves the message to be redelivered)."""
import os
import socket
import time

from celery import Celery
from kombu import Queue

import common

# Quorum queues refuse a global prefetch, and Celery 5.2 asks for one on RabbitMQ. Celery 5.5's
# worker_detect_quorum_queues does what this does: per-consumer prefetch (same semantics here,
# one consumer per channel).
from kombu.transport import pyamqp as _pyamqp
_pyamqp.Transport.qos_semantics_matches_spec = lambda self, connection: True

app = Celery("peer", broker=common.AMQP_URL)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("PEER_PREFETCH", "50")),
    broker_transport_options={"confirm_publish": True},
    task_default_queue=common.QUEUE,
    task_queues=[Queue(common.QUEUE, durable=True,
                       queue_arguments={"x-queue-type": common.QUEUE_TYPE})],
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)

_redis = None
_finish = None
WORKER = socket.gethostname() + ":" + str(os.getpid())


@app.task(name="peer.start")
def start(instance_id, gen):
    global _redis, _finish
    if _redis is None:
        _redis = common.connect()
        _finish = _redis.register_script(common.FINISH)
    _finish(keys=common.keys(instance_id),
            args=[str(gen), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), instance_id, WORKER])
