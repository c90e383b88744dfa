"""A tiny DCGAN run that SIGKILLs itself at one point of its second checkpoint save.

  python -m tests.kill_during_save POINT WORKDIR DATA_DIR

The run saves every step and keeps one checkpoint, so the first checkpoint is the
only good one while the second is being saved. POINT is where the kill lands:

  writing          the second checkpoint's temporary directory holds a file (orbax
                   is writing it; a watcher thread kills as soon as it sees one)
  before_rename    its data are written; the rename that completes it has not happened
  after_rename     it is complete; the first one has not been deleted yet
  while_deleting   half the files of the first one are deleted

Used by tests/test_checkpoint.py; the hooks wrap orbax 0.12's own functions
(async_path.rename, PathDeleter.delete).
"""

import os
import signal
import sys
import threading
import time

from orbax.checkpoint._src.path import async_path, deleter

from gan_jax import experiment
from tests.helpers import tiny_dcgan_config

POINTS = ("writing", "before_rename", "after_rename", "while_deleting")


def kill() -> None:
  os.kill(os.getpid(), signal.SIGKILL)


def install(point: str, checkpoints: str) -> None:
  rename = async_path.rename

  async def hooked_rename(src, dst):  # completes a checkpoint: <step>.orbax-checkpoint-tmp -> <step>
    second = os.path.basename(str(dst)) == "2"
    if second and point == "before_rename":
      kill()
    result = await rename(src, dst)
    if second and point == "after_rename":
      kill()
    return result
  async_path.rename = hooked_rename

  delete = deleter.PathDeleter.delete

  def hooked_delete(self, path, **kwargs):
    if point == "while_deleting":
      names = sorted(os.path.join(root, n) for root, _, files in os.walk(str(path)) for n in files)
      for name in names[:len(names) // 2]:
        os.remove(name)
      kill()
    return delete(self, path, **kwargs)
  deleter.PathDeleter.delete = hooked_delete

  def watch():  # the second save's temporary directory, once it holds a file
    while True:
      for name in os.listdir(checkpoints) if os.path.isdir(checkpoints) else []:
        tmp = os.path.join(checkpoints, name)
        if name.startswith("2") and "tmp" in name and any(files for _, _, files in os.walk(tmp)):
          kill()
      time.sleep(0.0005)
  if point == "writing":
    threading.Thread(target=watch, daemon=True).start()


def main(point: str, workdir: str, data_dir: str) -> None:
  if point not in POINTS:
    sys.exit(f"error: POINT must be one of {', '.join(POINTS)}")
  install(point, os.path.join(workdir, "checkpoints"))
  config = tiny_dcgan_config(max_steps=3, checkpoint_every_steps=1, keep_checkpoints=1, data_dir=data_dir,
                             eval_every_epochs=0)
  experiment.train(config, workdir)


if __name__ == "__main__":
  main(*sys.argv[1:4])
