#!/bin/bash
set -eu
who=bash
printf 'hello from %s %s\n' "$who" "${BASH_VERSINFO[0]}"
