#!/usr/bin/env bash
# tests/storage.sh with heapwatchd's store packed (storage.format: pack), the
# form whose snapshots the decode worker codes from its parse of them.
HEAPWATCH_STORAGE_FORMAT=pack exec "$(dirname "$0")/storage.sh"
