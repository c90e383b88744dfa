"""PyTorch eager re-implementations of gan_jax's models and train steps: the baseline of the speed benchmark.

Each model has the layers, widths, activations and optimizer of the gan_jax model
built from the same config (gan_jax.models, gan_jax.configs), in PyTorch's default
NCHW layout, so that one step costs the same arithmetic in both frameworks. The
steps follow the same structure as gan_jax.gan.gan_phases with k = 1 (Goodfellow
et al. 2014, Algorithm 1): one D update on a real batch and G(z1), then one G
update on fresh z2; with a moving-average G (config.g_ema_decay) the G step also
runs the averaged G on z2 to update its BatchNorm statistics, and averages the
weights. D's weights are frozen during the G update (PyTorch then skips their
gradients, as jax.grad with respect to G's parameters does).

Only imported by benchmarks.run's PyTorch worker (torch is the optional extra `.[bench]`).
"""

import copy

import torch
from torch import nn
import torch.nn.functional as F


def _same_padding(kernel_size: int) -> tuple[int, int]:
  """(padding, output_padding) of a stride-2 transposed conv that doubles H, as "SAME" does."""
  padding = (kernel_size - 1) // 2
  return padding, 2 + 2 * padding - kernel_size


class DCGANGenerator(nn.Module):
  """gan_jax.models.dcgan.DCGANGenerator: z [B, 100] -> [B, 1, 28, 28] in [-1, 1]."""

  def __init__(self, features=(256, 128, 64), kernel_size=5, slope=0.3, latent_dim=100):
    super().__init__()
    f0 = features[0]
    self.f0, self.slope = f0, slope
    self.project = nn.Linear(latent_dim, 7 * 7 * f0, bias=False)
    self.bn_project = nn.BatchNorm1d(7 * 7 * f0, momentum=0.01, eps=1e-3)
    layers = []
    pad, _ = _same_padding(kernel_size)
    prev = f0
    for f in features[1:-1]:  # stride-1 layers at 7x7
      layers += [nn.ConvTranspose2d(prev, f, kernel_size, 1, padding=kernel_size // 2, bias=False),
                 nn.BatchNorm2d(f, momentum=0.01, eps=1e-3), nn.LeakyReLU(slope)]
      prev = f
    pad, out_pad = _same_padding(kernel_size)
    layers += [nn.ConvTranspose2d(prev, features[-1], kernel_size, 2, pad, out_pad, bias=False),
               nn.BatchNorm2d(features[-1], momentum=0.01, eps=1e-3), nn.LeakyReLU(slope),
               nn.ConvTranspose2d(features[-1], 1, kernel_size, 2, pad, out_pad, bias=False), nn.Tanh()]
    self.body = nn.Sequential(*layers)

  def forward(self, z):
    h = F.leaky_relu(self.bn_project(self.project(z)), self.slope)
    return self.body(h.view(-1, 7, 7, self.f0).permute(0, 3, 1, 2))


class DCGANDiscriminator(nn.Module):
  """gan_jax.models.dcgan.DCGANDiscriminator: x [B, 1, 28, 28] -> logits [B]."""

  def __init__(self, features=(64, 128), kernel_size=5, slope=0.3, dropout=0.3, batch_norm=False):
    super().__init__()
    layers, prev = [], 1
    for i, f in enumerate(features):
      normalized = batch_norm and i > 0
      layers.append(nn.Conv2d(prev, f, kernel_size, 2, padding=(kernel_size - 1) // 2, bias=not normalized))
      if normalized:
        layers.append(nn.BatchNorm2d(f, momentum=0.1, eps=1e-5))
      layers.append(nn.LeakyReLU(slope))
      if dropout:
        layers.append(nn.Dropout(dropout))
      prev = f
    self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(7 * 7 * prev, 1))

  def forward(self, x):
    return self.body(x)[:, 0]


class MLPGenerator(nn.Module):
  """gan_jax.models.mlp.MLPGenerator: z [B, 100] -> [B, 1, 28, 28]."""

  def __init__(self, features=(256, 512, 1024), slope=0.2, latent_dim=100):
    super().__init__()
    layers, prev = [], latent_dim
    for f in features:
      layers += [nn.Linear(prev, f), nn.LeakyReLU(slope)]
      prev = f
    self.body = nn.Sequential(*layers, nn.Linear(prev, 784), nn.Tanh())

  def forward(self, z):
    return self.body(z).view(-1, 1, 28, 28)


class MLPDiscriminator(nn.Module):
  """gan_jax.models.mlp.MLPDiscriminator: x [B, 1, 28, 28] -> logits [B]."""

  def __init__(self, features=(1024, 512, 256), slope=0.2, dropout=0.3):
    super().__init__()
    layers, prev = [nn.Flatten()], 784
    for f in features:
      layers += [nn.Linear(prev, f), nn.LeakyReLU(slope), nn.Dropout(dropout)]
      prev = f
    self.body = nn.Sequential(*layers, nn.Linear(prev, 1))

  def forward(self, x):
    return self.body(x)[:, 0]


def adam_for(config, params):
  """The optimizer gan_jax.train.make_optimizer builds for config, as a torch.optim.Adam (or SGD)."""
  if config.optimizer == "tutorial":
    return torch.optim.Adam(params, lr=1e-4)
  if config.optimizer == "dcgan_paper":
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
  if config.optimizer == "adam":
    return torch.optim.Adam(params, lr=config.learning_rate, betas=(config.b1, config.b2))
  return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum)


class GanStep:
  """One Algorithm-1 step (k = 1) of a GAN built from a gan_jax config, non-saturating loss, on `device`."""

  def __init__(self, config, device="cpu"):
    slope = config.leaky_relu_slope if config.leaky_relu_slope is not None else (0.3 if config.arch == "dcgan" else 0.2)
    if config.arch == "dcgan":
      self.generator = DCGANGenerator(tuple(config.generator_features) or (256, 128, 64), config.kernel_size or 5,
                                      slope, config.latent_dim)
      self.discriminator = DCGANDiscriminator(tuple(config.discriminator_features) or (64, 128), config.kernel_size or 5,
                                              slope, config.d_dropout, config.d_batch_norm)
    else:
      self.generator = MLPGenerator(latent_dim=config.latent_dim)
      self.discriminator = MLPDiscriminator(dropout=config.d_dropout)
    self.generator.to(device)
    self.discriminator.to(device)
    self.device = device
    self.latent_dim = config.latent_dim
    self.opt_g = adam_for(config, self.generator.parameters())
    self.opt_d = adam_for(config, self.discriminator.parameters())
    self.ema_decay = config.get("g_ema_decay", 0.0)
    self.generator_ema = copy.deepcopy(self.generator) if self.ema_decay else None
    self.reuse_fake = config.get("reuse_fake", False)
    # Mixed precision as PyTorch users write it: the forward passes under CPU (or CUDA) autocast to bfloat16.
    self.autocast = torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                                   enabled=config.get("precision", "float32") == "bfloat16")

  def __call__(self, x_real):
    """x_real: [B, 1, 28, 28] float32 in [-1, 1] -> (d_loss, g_loss) tensors."""
    b = x_real.shape[0]
    g, d = self.generator, self.discriminator
    z = torch.randn(b, self.latent_dim, device=self.device)
    with torch.set_grad_enabled(self.reuse_fake), self.autocast:  # reuse_fake: keep G's graph for G's update
      x_fake = g(z)
    with self.autocast:
      real_logits, fake_logits = d(x_real), d(x_fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logits.float(), torch.ones_like(real_logits, dtype=torch.float32))
              + F.binary_cross_entropy_with_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32)))
    self.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    self.opt_d.step()

    d.requires_grad_(False)
    if not self.reuse_fake:
      z = torch.randn(b, self.latent_dim, device=self.device)
      with self.autocast:
        x_fake = g(z)
    with self.autocast:
      fake_logits = d(x_fake).float()
    g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    self.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    self.opt_g.step()
    d.requires_grad_(True)
    if self.generator_ema is not None:
      with torch.no_grad():
        self.generator_ema(z)  # its own BatchNorm statistics
        for e, p in zip(self.generator_ema.parameters(), g.parameters()):
          e.lerp_(p, 1.0 - self.ema_decay)
    return d_loss, g_loss


class VAEStep:
  """One step of gan_jax.vae's MLP VAE (diagonal posterior): -ELBO with a Bernoulli decoder, Adam, on `device`."""

  def __init__(self, config, device="cpu"):
    enc, dec = config.encoder_features, config.decoder_features
    self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, enc[0]), nn.ReLU(), nn.Linear(enc[0], enc[1]), nn.ReLU(),
                                 nn.Linear(enc[1], 2 * config.latent_dim))
    self.decoder = nn.Sequential(nn.Linear(config.latent_dim, dec[0]), nn.ReLU(), nn.Linear(dec[0], dec[1]), nn.ReLU(),
                                 nn.Linear(dec[1], 784))
    self.encoder.to(device)
    self.decoder.to(device)
    self.opt = adam_for(config, list(self.encoder.parameters()) + list(self.decoder.parameters()))

  def __call__(self, x):
    """x: [B, 1, 28, 28] float32 in [0, 1] -> the batch mean of -ELBO."""
    mean, logvar = self.encoder(x).chunk(2, dim=1)
    z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    logits = self.decoder(z)
    recon = F.binary_cross_entropy_with_logits(logits, x.view(x.shape[0], -1), reduction="none").sum(1)
    kl = 0.5 * (torch.exp(logvar) + mean ** 2 - 1.0 - logvar).sum(1)
    loss = (recon + kl).mean()
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    self.opt.step()
    return loss
