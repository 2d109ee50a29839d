"""Seeds N STOPPED instances of tenant `default` and the API key; prints the ids."""
import hashlib
import sys
import uuid

import common

n, key = int(sys.argv[1]), sys.argv[2]
r = common.connect()
r.hset(common.PREFIX + "keys", hashlib.sha256(key.encode()).hexdigest(), "default")
ids = [str(uuid.uuid4()) for _ in range(n)]
for i in range(0, n, 1000):
    p = r.pipeline(transaction=False)
    for instance_id in ids[i:i + 1000]:
        p.hset(common.PREFIX + "i:" + instance_id,
               mapping={"owner": "default", "status": "1", "gen": "0", "name": "seed"})
    p.execute()
sys.stdout.write("\n".join(ids) + "\n")
