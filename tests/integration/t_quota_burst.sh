#!/usr/bin/env bash
# nginx's limit_req rate=20r/s burst=20 nodelay as pcsim's bucket, at
# default options: every tenant answered, no Retry-After violated, -j kept,
# few 429s (the goal is < 2%; asserted with a margin).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quota.sh"

quota_run b20 400 "--throttle-rps 20 --throttle-burst 20"
quota_check b20 400 4
finish
