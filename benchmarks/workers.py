"""The two sides of a benchmark: a JAX worker and a PyTorch worker, each in a process of its own.

benchmarks.run starts one worker per framework and asks them in turn to time a
window of steps, so the two never run at the same time and neither's thread pool
spins while the other works. A worker answers (seconds, info) for each request.

Requests (tuples sent over a multiprocessing pipe):
  ("case", name, batch_size, data_dir, device) -> builds a training step (see CASES) on device
      "cpu" or "gpu".
  ("window", steps)   -> seconds for `steps` steps, data feeding included, synchronised at the end.
  ("layer", spec, batch_size, mode, gradients) -> seconds per call of one conv layer (see
      layer_specs); mode "forward" or "backward" (forward and both gradients); gradients "autodiff" or "fast"
      (JAX only: gan_jax.models.dcgan.conv_layer).
  ("stop",)
"""

import os
import tempfile
import time

import numpy as np

# name -> ((gan_jax config factory name, its args...), config overrides, default batch size, what it is)
CASES = {
    "dcgan_tutorial": (("dcgan", "tf_tutorial"), {"conv_gradients": "fast"}, 256,
                       "DCGAN, TF-tutorial layers (G 256-128-64, D 64-128, dropout 0.3)"),
    "dcgan_tutorial_autodiff": (("dcgan", "tf_tutorial"), {"conv_gradients": "autodiff"}, 256,
                                "the same, XLA's conv gradients (the recipe's bitwise-reproducible path)"),
    "dcgan_tutorial_reuse": (("dcgan", "tf_tutorial"), {"conv_gradients": "fast", "reuse_fake": True}, 256,
                             "the same, G's update reusing D's fake batch (one G forward per step, both frameworks)"),
    "dcgan_tutorial_bf16": (("dcgan", "tf_tutorial"), {"conv_gradients": "fast", "precision": "bfloat16"}, 256,
                            "the same, mixed precision: bfloat16 operands (PyTorch: CPU autocast to bfloat16)"),
    "dcgan_fast": (("dcgan", "fast"), {}, 256, "DCGAN, the fast recipe's layers (G 128-64, D 64-128, EMA G)"),
    "dcgan_fast_b16": (("dcgan", "fast"), {}, 16, "DCGAN, the fast recipe as the main command runs it"),
    "dcgan_fast_b16_autodiff": (("dcgan", "fast"), {"conv_gradients": "autodiff"}, 16,
                                "the same, XLA's conv gradients"),
    "gan_mlp": (("gan_mlp",), {}, 100, "MLP GAN (Goodfellow et al. 2014), dropout in D"),
    "vae": (("vae",), {}, 128, "MLP VAE 784-512-256-2"),
    "matmul": (None, {"precision": "float32"}, 2048, "2048^3 float32 matrix product"),
    "matmul_bf16": (None, {"precision": "bfloat16"}, 2048, "2048^3 bfloat16 matrix product (float32 accumulation)"),
}


def case_config(name: str, batch_size: int, device: str = "cpu"):
  """The gan_jax config of a benchmark case, at batch_size, on one device of the kind `device` (cpu or gpu)."""
  from gan_jax import configs
  factory, overrides = CASES[name][:2]
  config = getattr(configs, factory[0])(*factory[1:])
  config.update(overrides)
  config.batch_size = batch_size
  config.accelerator = device
  if "eval_every_epochs" in config:
    config.eval_every_epochs = 0
    config.eval_every_steps = 0
  return config


def layer_specs(recipe: str) -> list[dict]:
  """The convolutions of a DCGAN recipe's G and D at batch-independent shapes.

  Each spec: name, kind ("conv" stride-2 of D, "deconv" transposed conv of G),
  in/out channels, kernel size, stride, input side.
  """
  from gan_jax import configs
  config = configs.dcgan(recipe)
  k = config.kernel_size or 5
  specs = []
  from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator
  g = tuple(config.generator_features) or tuple(DCGANGenerator.features)
  for i, f in enumerate(g[1:-1]):
    specs.append(dict(name=f"G deconv_7x7{'' if i == 0 else '_' + str(i + 1)}", kind="deconv", c_in=g[i], c_out=f,
                      k=k, stride=1, side=7))
  specs.append(dict(name="G deconv_14x14", kind="deconv", c_in=g[-2], c_out=g[-1], k=k, stride=2, side=7))
  specs.append(dict(name="G deconv_28x28", kind="deconv", c_in=g[-1], c_out=1, k=k, stride=2, side=14))
  d = (1,) + (tuple(config.discriminator_features) or tuple(DCGANDiscriminator.features))
  side = 28
  for i in range(len(d) - 1):
    specs.append(dict(name=f"D conv_{i}", kind="conv", c_in=d[i], c_out=d[i + 1], k=k, stride=2, side=side))
    side //= 2
  return specs


def layer_flops(spec: dict, batch_size: int) -> float:
  """Multiply-adds x 2 of the layer's forward pass (its backward costs about twice that)."""
  if spec["kind"] == "conv":
    out_side = spec["side"] // spec["stride"]
  else:
    out_side = spec["side"] * spec["stride"]
  positions = out_side ** 2 if spec["kind"] == "conv" else spec["side"] ** 2
  return 2.0 * batch_size * positions * spec["k"] ** 2 * spec["c_in"] * spec["c_out"]


class JaxWorker:
  """Times gan_jax's own train steps: experiment.compiled_train_step and experiment.batch_feeder, as a run uses them."""

  def __init__(self):
    import jax
    self.jax = jax

  def case(self, name, batch_size, data_dir, device="cpu"):
    jax = self.jax
    import jax.numpy as jnp
    if CASES[name][0] is None:  # a matrix product
      n = batch_size
      on = jax.devices(device)[0]
      dtype = jnp.bfloat16 if CASES[name][1]["precision"] == "bfloat16" else jnp.float32
      a = jax.device_put(jax.random.normal(jax.random.key(0), (n, n), dtype), on)
      b = jax.device_put(jax.random.normal(jax.random.key(1), (n, n), dtype), on)
      dot = jax.jit(lambda a, b: jnp.dot(a, b, preferred_element_type=jnp.float32))

      def window(steps):
        out = None
        for _ in range(steps):
          out = dot(a, b)
        jax.block_until_ready(out)
      self.window_fn, self.flops = window, 2.0 * n ** 3
      return {}
    from gan_jax import data, experiment, gan_run, parallel, vae
    from gan_jax.train import Context, MetricsLog, Schedule
    config = case_config(name, batch_size, device)
    images, labels = data.load(config.dataset, "train", data_dir=data_dir)
    dp = parallel.DataParallel(config.parallelism, parallel.resolve_accelerator(config.accelerator))
    tmp = tempfile.mkdtemp(prefix="gan_jax_bench_")
    schedule = Schedule.from_config(config, len(images))
    ctx = Context(config, tmp, dp, images, labels, MetricsLog(os.path.join(tmp, "metrics.jsonl")), schedule)
    model = (vae if name == "vae" else gan_run).build_model(ctx)
    state = dp.put_state(model.init_state())
    step = experiment.compiled_train_step(model, dp)
    get_batch = experiment.batch_feeder(model, images, labels, schedule, config.seed)
    try:
      cost = step.lower(state, dp.put_batch(get_batch(0))).compile().cost_analysis()
      cost = cost[0] if isinstance(cost, (list, tuple)) else cost
      self.flops = float(cost["flops"])
    except Exception:  # cost analysis is best effort: some backends give none
      self.flops = None
    self.state, self.i = state, 0

    def window(steps):
      state, metrics = self.state, None
      for _ in range(steps):
        state, metrics = step(state, dp.put_batch(get_batch(self.i)))
        self.i += 1
      jax.block_until_ready((state, metrics))
      self.state = state
    self.window_fn = window
    return {"devices": str(dp.devices[0].platform), "flops": self.flops}

  def layer(self, spec, batch_size, mode, gradients="fast"):
    jax = self.jax
    import jax.numpy as jnp
    from gan_jax.models import dcgan
    module = dcgan.conv_layer(spec["kind"], spec["c_out"], spec["k"], spec["stride"], gradients=gradients)
    x = jax.random.normal(jax.random.key(0), (batch_size, spec["side"], spec["side"], spec["c_in"]), jnp.float32)
    params = module.init(jax.random.key(1), x)
    y = module.apply(params, x)
    cot = jax.random.normal(jax.random.key(2), y.shape, y.dtype)
    if mode == "forward":
      fn = jax.jit(module.apply)
      args = (params, x)
    else:
      fn = jax.jit(jax.grad(lambda p, x: jnp.vdot(module.apply(p, x), cot), argnums=(0, 1)))
      args = (params, x)
    jax.block_until_ready(fn(*args))
    return _time_calls(lambda: jax.block_until_ready(fn(*args)))


class TorchWorker:
  """Times the PyTorch eager baseline (benchmarks.torch_models) on the same data."""

  def __init__(self):
    import torch
    self.torch = torch
    torch.set_num_threads(os.cpu_count())

  def case(self, name, batch_size, data_dir, device="cpu"):
    torch = self.torch
    torch.manual_seed(0)
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if CASES[name][0] is None:  # a matrix product
      n = batch_size
      dtype = torch.bfloat16 if CASES[name][1]["precision"] == "bfloat16" else torch.float32
      a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)

      def window(steps):
        for _ in range(steps):
          torch.mm(a, b)
        sync()
      self.window_fn = window
      return {}
    from benchmarks import torch_models
    from gan_jax import data
    config = case_config(name, batch_size, device)
    images, labels = data.load(config.dataset, "train", data_dir=data_dir)
    to_range = data.to_unit_range if name == "vae" else data.to_gan_range
    step = torch_models.VAEStep(config, dev) if name == "vae" else torch_models.GanStep(config, dev)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(images))
    self.i = 0

    def window(steps):
      for _ in range(steps):
        start = (self.i * batch_size) % (len(images) - batch_size)
        self.i += 1
        x = torch.from_numpy(to_range(images[order[start:start + batch_size]])).permute(0, 3, 1, 2)
        step(x.contiguous().to(dev, non_blocking=True))
      sync()
    self.window_fn = window
    return {"threads": torch.get_num_threads(), "device": str(dev)}

  def layer(self, spec, batch_size, mode, gradients=None):
    del gradients
    torch = self.torch
    from torch import nn
    k, s = spec["k"], spec["stride"]
    if spec["kind"] == "conv":
      layer = nn.Conv2d(spec["c_in"], spec["c_out"], k, s, padding=(k - 1) // 2)
    elif s == 1:
      layer = nn.ConvTranspose2d(spec["c_in"], spec["c_out"], k, 1, padding=k // 2, bias=False)
    else:
      pad = (k - 1) // 2
      layer = nn.ConvTranspose2d(spec["c_in"], spec["c_out"], k, 2, pad, 2 + 2 * pad - k, bias=False)
    x = torch.randn(batch_size, spec["c_in"], spec["side"], spec["side"])
    if mode == "forward":
      def call():
        with torch.no_grad():
          layer(x)
    else:
      x.requires_grad_(True)
      with torch.no_grad():
        cot = torch.randn_like(layer(x))

      def call():
        layer(x).backward(cot)
    call()
    return _time_calls(call)


def _time_calls(call, min_seconds: float = 0.5, max_calls: int = 50) -> float:
  """Median seconds per call over at least min_seconds (after one untimed call)."""
  call()
  times = []
  start = time.perf_counter()
  while len(times) < max_calls and (time.perf_counter() - start < min_seconds or len(times) < 3):
    t = time.perf_counter()
    call()
    times.append(time.perf_counter() - t)
  return float(np.median(times))


def serve(framework: str, conn) -> None:
  """A worker's loop: answers requests from benchmarks.run until ("stop",)."""
  worker = JaxWorker() if framework == "jax" else TorchWorker()
  while True:
    request = conn.recv()
    try:
      if request[0] == "stop":
        conn.send(("ok", None))
        return
      if request[0] == "case":
        conn.send(("ok", worker.case(*request[1:])))
      elif request[0] == "window":
        start = time.perf_counter()
        worker.window_fn(request[1])
        conn.send(("ok", time.perf_counter() - start))
      elif request[0] == "layer":
        conn.send(("ok", worker.layer(*request[1:])))
    except Exception as e:  # reported to the parent, which prints it and goes on with the next case
      import traceback
      conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}"))
