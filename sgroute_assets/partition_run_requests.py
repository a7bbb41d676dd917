"""What a file-watching sensor returns: one run request per file, its partition added in the same result.

Both file sensors (stop files, trip logs) key partitions by file name, so both must refuse two files claiming
one key in a tick (the stop file sensor's keys come from a stored mapping that never gives one key to two
names), read the existing partitions once per tick rather than once per file, and add new keys together with
the runs that need them (the daemon applies them before submitting the runs).
"""

import dagster as dg


class PartitionRunRequests:
    def __init__(self, context: dg.SensorEvaluationContext, partitions_def: dg.DynamicPartitionsDefinition):
        self._context = context
        self._partitions_def = partitions_def
        self._existing = set(context.instance.get_dynamic_partitions(partitions_def.name))
        self._claimed: dict[str, str] = {}
        self._new_keys: list[str] = []
        self.requests: list[dg.RunRequest] = []

    @property
    def existing(self) -> frozenset[str]:
        """The partitions of this definition that exist (or are added by this result)."""
        return frozenset(self._existing)

    def __len__(self) -> int:
        return len(self.requests)

    def claimed_by(self, key: str) -> str | None:
        return self._claimed.get(key)

    def claim(self, key: str, name: str) -> bool:
        """Reserve ``key`` for file ``name`` this tick; a second file with the same key is refused, loudly."""
        holder = self._claimed.setdefault(key, name)
        if holder != name:
            self._context.log.error(f"{name} and {holder} both map to partition {key}; rename one")
            return False
        return True

    def request(self, key: str, run_key: str, tags: dict[str, str]) -> None:
        if key not in self._existing:
            self._new_keys.append(key)
            self._existing.add(key)
        self.requests.append(dg.RunRequest(partition_key=key, run_key=run_key, tags=tags))

    def result(self, cursor: str) -> dg.SensorResult:
        added = [self._partitions_def.build_add_request(self._new_keys)] if self._new_keys else []
        return dg.SensorResult(run_requests=self.requests, dynamic_partitions_requests=added, cursor=cursor)
