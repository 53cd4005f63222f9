#!/bin/sh
# Usage: expect_exit.sh CODE REGEX COMMAND [ARG...]
# Runs COMMAND; passes only when it exits with exactly CODE and its output (stdout + stderr)
# matches the extended regex REGEX. A failure prints what was expected and what happened.
code=$1
regex=$2
shift 2
output=$("$@" 2>&1)
status=$?
if [ "$status" -ne "$code" ]; then
  printf 'expected exit %s, got %s from: %s\n%s\n' "$code" "$status" "$*" "$output"
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq -- "$regex"; then
  printf 'exit %s as expected, but the output lacks /%s/:\n%s\n' "$code" "$regex" "$output"
  exit 1
fi
printf 'exit %s and /%s/ as expected\n' "$code" "$regex"
