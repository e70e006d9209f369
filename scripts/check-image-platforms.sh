#!/usr/bin/env bash
# check-image-platforms.sh <images-file>: every image in the file (one reference a line, as the
# charts test writes them: go test -tags charts -run TestPlatformImages with CINEGIT_IMAGES_OUT)
# is a manifest list (OCI index) with linux/arm64 and linux/amd64 images. The general node groups
# are Graviton (arm64), the media nodes x86_64, and DaemonSets run on both, so an image with one
# architecture leaves pods that never start ("exec format error"). Reads each index from its
# registry with `docker buildx imagetools inspect --raw` (ci.yml's kubernetes job, which has the
# internet; REGISTRY_INSPECT overrides the command, for tests). Exits 1 listing each image that
# lacks a platform, 2 on bad usage.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <images-file>" >&2; exit 2; }
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then usage; fi
require check-image-platforms jq
inspect=${REGISTRY_INSPECT:-docker buildx imagetools inspect --raw}

missing=0
while read -r image; do
  [ -z "$image" ] && continue
  # shellcheck disable=SC2086 # the inspect command is words
  platforms=$($inspect "$image" | jq -r '[.manifests[]?.platform | select(. != null) | "\(.os)/\(.architecture)"] | unique | join(" ")')
  for want in linux/arm64 linux/amd64; do
    case " $platforms " in
      *" $want "*) ;;
      *) echo "$image: no $want image (has: ${platforms:-a single-platform manifest})"; missing=1 ;;
    esac
  done
done < "$1"
if [ "$missing" = 1 ]; then
  exit 1
fi
echo "check-image-platforms: every image has linux/arm64 and linux/amd64"
