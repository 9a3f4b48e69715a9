#!/usr/bin/env bash
# tests/repeat.sh with the packed store, whose bodies are all decoded.
HEAPWATCH_STORAGE_FORMAT=pack exec "$(dirname "$0")/repeat.sh"
