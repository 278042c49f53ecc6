package workerhost

import "time"

// MemoryLimit is the worker's soft memory limit (debug.SetMemoryLimit, the
// runtime's GOMEMLIMIT), set by TuneRuntime unless GOMEMLIMIT is set. At
// GOGC=400 a concurrent pass of 10,000 requests grew the heap to five times
// its live size, near 2 GiB of resident memory; with the limit the collector
// runs more often once the heap nears it, and the worker's peak resident
// memory stays under 1 GiB (bench/scale measures it; docs/limits.md).
// Small runs never reach it and keep GOGC=400's fewer collections.
const MemoryLimit = 640 << 20

// DeadlockDetection is how long a workflow task's code may run without
// yielding before the SDK takes it for a deadlock and fails the task (the
// SDK's default is 1 s). The workflow task that takes in the batches of a
// concurrent pass of 10,000 decodes about 8 MiB of records and summarises
// them: well under a second on a quiet machine, but a replay of it on a
// busy 2-core machine took longer, and each failed task is replayed again.
// Below the server's workflow task timeout (10 s).
const DeadlockDetection = 5 * time.Second
