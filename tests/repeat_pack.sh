#!/usr/bin/env bash
# tests/repeat.sh with the packed store, whose repeats store its newest
# snapshot again.
HEAPWATCH_STORAGE_FORMAT=pack exec "$(dirname "$0")/repeat.sh"
