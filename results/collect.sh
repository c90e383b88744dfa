#!/usr/bin/env bash
# Copies the small outputs of a finished run (figures, config, logs) from its workdir into results/<name>/.
# usage: bash results/collect.sh RUN_DIR NAME
set -euo pipefail
src=$1; dst=$(dirname "$0")/$2
mkdir -p "$dst"
for f in "$src"/*.png "$src"/*.json "$src"/metrics.jsonl; do
  [ -e "$f" ] || continue
  case $(basename "$f") in
    samples_epoch_*.png)  # keep the milestone epochs of the course's figures and the last one
      e=$(basename "$f" .png); e=$((10#${e#samples_epoch_}))
      last=$(ls "$src"/samples_epoch_*.png | tail -1)
      if [[ " 1 2 5 10 20 50 100 " == *" $e "* || "$f" == "$last" ]]; then cp "$f" "$dst/"; fi ;;
    reconstructions_epoch_*.png)
      [ "$f" == "$(ls "$src"/reconstructions_epoch_*.png | tail -1)" ] && cp "$f" "$dst/" ;;
    *) cp "$f" "$dst/" ;;
  esac
done
echo "collected $src -> $dst: $(ls "$dst" | wc -l) files"
